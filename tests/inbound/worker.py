"""A real Celery worker process on Redis + PostgreSQL, for tests of the production path.

The worker connects to the pytest test database by name; tests that use it are transactional so
their rows are committed and visible to it. Redis DB comes from SMSPORTAL_TEST_REDIS_URL (each
helper/CI job uses its own DB number) and is flushed before the worker starts.
"""

import os
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

from tests.polling import wait_until

REPO = Path(__file__).resolve().parents[2]


def database_url(settings_dict: dict) -> str:
    user = settings_dict.get("USER") or "postgres"
    password = settings_dict.get("PASSWORD") or ""
    auth = f"{user}:{password}@" if password else f"{user}@"
    host = settings_dict.get("HOST") or "127.0.0.1"
    port = settings_dict.get("PORT") or 5432
    return f"postgres://{auth}{host}:{port}/{settings_dict['NAME']}"


class LoggedProcess:
    """A subprocess of this repository on the tests' database and Redis; its output is kept for the
    failure message, and `stop()` ends only this process."""

    def __init__(self, command: list[str], *, database_url: str, broker_url: str, extra_env: dict | None = None):
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "CELERY_BROKER_URL": broker_url,
            "REDIS_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "SMSPORTAL_ALLOW_PRIVATE_URLS": "1",
            "LOG_LEVEL": "WARNING",
            **(extra_env or {}),
        }
        self.log = tempfile.TemporaryFile(mode="w+")  # the process's output, shown when a test fails
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def output(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-5000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()


class WorkerProcess(LoggedProcess):
    """`celery -A smsportal worker` as a subprocess."""

    def __init__(self, *, database_url: str, broker_url: str, concurrency: int = 2, extra_env: dict | None = None):
        import redis

        redis.Redis.from_url(broker_url).flushdb()
        self.name = f"inbound-test-{uuid.uuid4().hex[:8]}@%h"
        command = [
            str(Path(sys.executable).parent / "celery"), "-A", "smsportal", "worker", "-c", str(concurrency),
            "-P", "prefork", "-n", self.name, "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-l", "WARNING",
        ]  # fmt: skip
        retries = {"SMSPORTAL_PLUGIN_RETRY_BASE_SECONDS": "0.05", "SMSPORTAL_PLUGIN_RETRY_MAX_SECONDS": "0.2"}
        super().__init__(
            command, database_url=database_url, broker_url=broker_url, extra_env={**retries, **(extra_env or {})}
        )

    def wait_ready(self, app, timeout: float = 60.0) -> None:
        def answered() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"celery worker exited with {self.process.returncode}:\n{self.output()[-2000:]}")
            replies = app.control.ping(timeout=0.5) or []
            return any(self.name.replace("%h", "") in next(iter(r)) for r in replies)

        wait_until(answered, timeout, "the celery worker to answer a ping")


def point_app_at(app, broker_url: str | None) -> None:
    """Make this (test) process publish to `broker_url`, or back to eager mode with None."""
    app.conf.task_always_eager = broker_url is None
    app.conf.broker_url = broker_url or ""
    app._pool = None
    app.amqp._producer_pool = None
