# smsportal: `make run` serves the demo, `make test` runs the suite. Both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000

.PHONY: run seed prod test test-postgres lint format worker beat router simulator clean bench

$(BIN)/.installed: requirements.txt
	@echo "Installing requirements.txt into $(VENV)…"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install --quiet --upgrade pip
	@$(BIN)/pip install --quiet -r requirements.txt
	@touch $@

$(BIN)/.installed-dev: $(BIN)/.installed requirements-dev.txt
	@echo "Installing requirements-dev.txt into $(VENV)…"
	@$(BIN)/pip install --quiet -r requirements-dev.txt
	@touch $@

# The demo's webhook URLs (shown in the admin and sent to providers) follow PORT.
RUN_ENV = DEBUG=$${DEBUG:-1} SMSPORTAL_ALLOW_PRIVATE_URLS=$${SMSPORTAL_ALLOW_PRIVATE_URLS:-1} \
	SMSPORTAL_PUBLIC_BASE_URL=$${SMSPORTAL_PUBLIC_BASE_URL:-http://127.0.0.1:$(PORT)}

# The environment lines are not echoed: each command prints what it does.
run: seed
	@$(RUN_ENV) $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

# The demo's logins, API key and dose due soon, printed again (with `make run`'s PORT).
seed: $(BIN)/.installed
	@$(RUN_ENV) $(BIN)/python manage.py migrate --noinput
	@$(RUN_ENV) $(BIN)/python manage.py seed_demo

# Production on one host (docs/deploy.md): settings from the environment and ENV_FILE (honcho's
# .env format); refuses to start while `check --deploy` reports an error, then migrates, collects
# static files and runs the Procfile (gunicorn, Celery worker, Celery beat, the routing process) until stopped.
ENV_FILE ?= .env
PROD_RUN = PATH="$(abspath $(BIN)):$$PATH" $(BIN)/honcho --env $(ENV_FILE) run
prod: $(BIN)/.installed
	$(PROD_RUN) python manage.py check --deploy --fail-level ERROR
	$(PROD_RUN) python manage.py migrate --noinput
	$(PROD_RUN) python manage.py collectstatic --noinput --verbosity 0
	PATH="$(abspath $(BIN)):$$PATH" exec $(BIN)/honcho --env $(ENV_FILE) start --port $(PORT) --no-colour

test: $(BIN)/.installed-dev
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

# CI: the PostgreSQL-only branches, failing (not skipping) when PostgreSQL or Redis is absent.
test-postgres: $(BIN)/.installed-dev
	@SMSPORTAL_REQUIRE_SERVICES=1 DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/smsportal} \
		$(BIN)/python -m pytest -m postgres $(PYTEST_ARGS)

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

worker: $(BIN)/.installed
	$(BIN)/celery -A smsportal worker --loglevel=INFO --concurrency=$${CONCURRENCY:-2}

beat: $(BIN)/.installed
	$(BIN)/celery -A smsportal beat --loglevel=INFO

router: $(BIN)/.installed
	$(BIN)/python manage.py route_replies

simulator: $(BIN)/.installed
	$(BIN)/python manage.py provider_simulator --port $${SIM_PORT:-8025}

clean:
	rm -rf $(VENV) db.sqlite3 staticfiles celerybeat-schedule*

bench: $(BIN)/.installed-dev
	$(BIN)/python bench/outbound.py
