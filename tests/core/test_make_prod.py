"""`make prod` as a self-hoster runs it: production settings (DEBUG=0, PostgreSQL, Redis), the deploy
check, migrations on a fresh database, static files, then the Procfile under honcho (gunicorn, the
Celery worker, Celery beat, the routing process). A message sent over HTTP to gunicorn is sent by the worker; stopping
`make prod` stops every process it started.

Marked `services` (and `postgres`): skipped without PostgreSQL or Redis, failing when
SMSPORTAL_REQUIRE_SERVICES=1. The subprocesses use a database of their own on the same server.
"""

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import redis
import requests
from cryptography.fernet import Fernet

from messaging.services.routing import ROUTER_ALIVE
from tests.conftest import service_unavailable
from tests.polling import wait_until

pytestmark = pytest.mark.services

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the environment running the tests, with gunicorn, celery, honcho
# What the subprocesses must not inherit from the test run: every setting is given explicitly.
INHERITED_PREFIXES = ("SMSPORTAL_", "DJANGO_", "SECURE_", "CELERY_", "DATABASE_URL", "REDIS_URL", "DEBUG")
INHERITED_NAMES = {"PORT", "BIND", "WEB_WORKERS", "WEB_THREADS", "CONCURRENCY", "ALLOWED_HOSTS", "ENV_FILE"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(pid: int) -> set[int]:
    """Every process below `pid` (ppid links in /proc): honcho's children have sessions of their own."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.fixture
def prod_database(require_postgres):
    """A fresh database on the test server, dropped afterwards."""
    import psycopg
    from django.db import connection

    params = connection.settings_dict
    name = f"{params['NAME']}_make_prod"[:63]
    server = {
        "host": params["HOST"] or "127.0.0.1",
        "port": params["PORT"] or 5432,
        "user": params["USER"],
        "password": params["PASSWORD"] or None,
    }
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    password = f":{server['password']}" if server["password"] else ""
    yield f"postgres://{server['user']}{password}@{server['host']}:{server['port']}/{name}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def prod_env(prod_database, redis_url, tmp_path):
    from messaging.services.dispatch import DISPATCH_PENDING_KEY
    from messaging.services.routing import ROUTE_PENDING

    if not shutil.which("make"):
        service_unavailable("needs make")
    # A pending-run flag left by an earlier test in this Redis database would hold back dispatch.
    redis.Redis.from_url(redis_url).delete(DISPATCH_PENDING_KEY, ROUTE_PENDING.key)
    env = {k: v for k, v in os.environ.items() if not k.startswith(INHERITED_PREFIXES) and k not in INHERITED_NAMES}
    (tmp_path / "empty.env").write_text("")
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SMSPORTAL_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "DATABASE_URL": prod_database,
            "REDIS_URL": redis_url,
            "ALLOWED_HOSTS": "127.0.0.1",
            "PORT": str(_free_port()),
            "WEB_WORKERS": "1",
            "WEB_THREADS": "4",
            "CONCURRENCY": "1",
            "STATIC_ROOT": str(tmp_path / "static"),
            "CELERY_BEAT_SCHEDULE_FILENAME": str(tmp_path / "celerybeat-schedule"),
            "ENV_FILE": str(tmp_path / "empty.env"),  # not the checkout's .env, if it has one
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def _manage(env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_make_prod_serves_and_sends_a_message_end_to_end_then_stops_cleanly(prod_env, tmp_path):
    base = f"http://127.0.0.1:{prod_env['PORT']}"
    log_path = tmp_path / "make-prod.log"
    # The tests' own environment stands in for .venv: not reinstalled (-o), same interpreter.
    command = ["make", "--no-print-directory", "-o", f"{BIN}/.installed", "prod", f"BIN={BIN}"]
    with open(log_path, "wb") as log:
        make = subprocess.Popen(command, cwd=ROOT, env=prod_env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    tree: set[int] = set()

    def log_tail() -> str:
        return log_path.read_text(errors="replace")[-4000:]

    def healthy() -> bool:
        assert make.poll() is None, f"make prod exited with {make.returncode}:\n{log_tail()}"
        try:
            return requests.get(f"{base}/healthz", timeout=5).status_code == 200
        except requests.RequestException:  # not listening yet, or its worker still loading Django
            return False

    try:
        # check --deploy, migrate (a fresh database), collectstatic, then gunicorn answers.
        wait_until(healthy, 90, "gunicorn under make prod to answer /healthz", interval=0.25)

        # The first organization, as README's "First organization" does it, and its gateway.
        api_key = _manage(prod_env, "create_api_key", "--org", "prod-clinic", "--org-name", "Prod Clinic").strip()
        _manage(
            prod_env,
            "shell",
            "-c",
            "from entities.models import Organization; from gateways.models import Gateway; "
            "Gateway.objects.create(organization=Organization.objects.get(slug='prod-clinic'), "
            "name='Simulator', type='simulator', is_default=True)",
        )
        auth = {"Authorization": f"Bearer {api_key}"}

        answer = requests.post(
            f"{base}/notification/v1/sms/send",
            json={"message": "Clinic at 9 tomorrow.", "phoneNumber": "+12025550101"},
            headers=auth,
            timeout=10,
        )
        assert answer.status_code in (200, 201, 202), answer.text
        message_id = answer.json()["messageId"]

        def status() -> str | None:
            body = requests.get(f"{base}/api/sms/outbound/{message_id}?fields=id,status", headers=auth, timeout=5)
            assert body.status_code == 200, body.text
            return body.json()["status"] if body.json()["status"] in ("SENT", "DELIVERED") else None

        # Sent by the Celery worker through the simulator gateway (the web process only queues).
        assert wait_until(status, 45, "the worker to send the message", interval=0.25) in ("SENT", "DELIVERED")
        static = requests.get(f"{base}/static/portal/portal.css", timeout=5)
        assert static.status_code == 200 and "max-age" in static.headers.get("Cache-Control", "")

        tree = _descendants(make.pid)
        assert len(tree) >= 7, f"expected honcho, gunicorn (+worker), celery worker (+pool), beat, router: {tree}"
        # The routing process says it is alive (webhooks wake it rather than publish routing tasks).
        router = wait_until(lambda: redis.Redis.from_url(prod_env["REDIS_URL"]).get(ROUTER_ALIVE), 30, "the router")
        assert int(router) in tree
    finally:
        tree |= _descendants(make.pid)
        os.killpg(make.pid, signal.SIGTERM)  # what Ctrl-C or a service manager's stop does
        try:
            make.wait(timeout=30)
            wait_until(lambda: not any(_alive(p) for p in tree), 30, "every make prod process to exit")
        finally:
            leftovers = [p for p in tree if _alive(p)]
            for pid in leftovers:  # never leave them behind, even when the test fails
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
    assert not leftovers
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{base}/healthz", timeout=2)
    assert b"SIGTERM received" in log_path.read_bytes()
