"""A real Celery worker subprocess on the pytest database and Redis, for end-to-end tests."""

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the database the tests are using (pytest-django's test database)."""
    from django.db import connection

    s = connection.settings_dict
    host = s.get("HOST") or "127.0.0.1"
    port = s.get("PORT") or 5432
    auth = s.get("USER") or "postgres"
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{host}:{port}/{s['NAME']}"


@contextlib.contextmanager
def celery_worker(*, redis_url: str, concurrency: int = 2, extra_env: dict | None = None):
    """Run `celery -A smsportal worker` until the block ends; its log is attached on failure."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": redis_url,
        "REDIS_URL": redis_url,
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "SMSPORTAL_ALLOW_PRIVATE_URLS": "1",
        **(extra_env or {}),
    }
    log = tempfile.NamedTemporaryFile(prefix="celery-worker-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "smsportal", "worker", "--pool=prefork",
            f"--concurrency={concurrency}", "--loglevel=WARNING", "--without-gossip", "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        log.close()
        output = Path(log.name).read_text(errors="replace")
        Path(log.name).unlink(missing_ok=True)
        if "Traceback" in output:
            print("celery worker log:\n" + output[-5000:])


def _reset_broker_pools(app) -> None:
    """Forget pooled broker connections: they were opened for whatever broker was configured before."""
    from kombu import pools

    pools.reset()
    app._pool = None
    app.amqp._producer_pool = None


@contextlib.contextmanager
def broker_mode(settings, redis_url: str):
    """Make this process publish tasks to Redis (not run them eagerly), then restore eager mode."""
    import redis

    from smsportal.celery import app
    from smsportal.redis import _client

    saved = {k: app.conf[k] for k in ("task_always_eager", "broker_url")}  # before settings change
    client = redis.Redis.from_url(redis_url)
    client.delete("celery", "smsportal:outbound:dispatch-pending")  # leftovers of an earlier run
    settings.REDIS_URL = settings.CELERY_BROKER_URL = redis_url
    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(task_always_eager=False, broker_url=redis_url)
    _reset_broker_pools(app)
    _client.cache_clear()
    try:
        yield client
    finally:
        app.conf.update(saved)
        _reset_broker_pools(app)
        _client.cache_clear()
        client.close()
