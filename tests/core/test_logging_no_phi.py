"""Logs are structured and never carry phone numbers, message bodies or secrets."""

import json
import logging

import pytest

from smsportal.logging import JsonFormatter

pytestmark = pytest.mark.django_db(transaction=True)

NUMBER = "+4791234567"
BODY = "Secret-diagnosis-text take 2 pills"


@pytest.fixture
def log_lines():
    """Every record any logger emits during the test, formatted as the production JSON lines."""
    lines: list[str] = []
    formatter = JsonFormatter()

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(formatter.format(record))

    handler = Collect(level=logging.DEBUG)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(handler)
    root.setLevel(old_level)


def _assert_clean(lines, *secrets):
    assert lines, "nothing was logged: the test would prove nothing"
    for line in lines:
        json.loads(line)  # structured: one JSON object per line
        for secret in secrets:
            assert secret not in line, line
            assert secret.replace("+", "%2B") not in line, line


def test_sends_and_refusals_log_no_numbers_bodies_or_keys(api_client, api_key, gateway, log_lines):
    api_client.post("/notification/v1/sms/send", {"message": BODY, "phoneNumber": NUMBER}, format="json")
    api_client.post("/api/sms/outbound", {"message": BODY, "recipients": [NUMBER, "+47 bad"]}, format="json")
    # A refused query-form request: Django logs 4xx responses with the request (and its query string).
    api_client.post(f"/api/sms/outbound?recipient={NUMBER.replace('+', '%2B')}&message=")
    api_client.post(f"/api/sms/outbound?recipient=&message={BODY.replace(' ', '+')}")
    api_client.post("/notification/v1/sms/send", {"message": BODY, "phoneNumber": "12345"}, format="json")

    _assert_clean(log_lines, NUMBER, BODY, BODY.replace(" ", "+"), api_key)


def test_gateway_failures_log_no_numbers_or_bodies(api_client, gateway, log_lines, monkeypatch):
    from gateways.exceptions import GatewayAmbiguousError
    from gateways.providers.simulator import SimulatorAdapter

    def broken(self, messages):
        raise GatewayAmbiguousError("read timeout")

    monkeypatch.setattr(SimulatorAdapter, "send_batch", broken)
    api_client.post("/api/sms/outbound", {"message": BODY, "recipients": [NUMBER]}, format="json")

    _assert_clean(log_lines, NUMBER, BODY)


def test_the_development_server_logs_requests_as_json_without_their_query(tmp_path):
    """`make run` serves with Django's development server, whose request lines carried what a
    nurse searched and what DHIS2's query-form send put in the URL."""
    import os
    import socket
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    from tests.polling import wait_until

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}", "DEBUG": "1", "LOG_LEVEL": "INFO"}
    env.pop("REDIS_URL", None)
    log = tmp_path / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
            cwd=Path(__file__).resolve().parents[2], env=env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        searched = f"http://127.0.0.1:{port}/portal/messages/?q=%2B{NUMBER[1:]}&text={BODY.replace(' ', '+')}"

        def answered():
            try:
                urllib.request.urlopen(searched, timeout=5)  # noqa: S310 — the local test server
            except urllib.error.HTTPError:
                pass
            except OSError:
                return False
            return "/portal/messages/" in log.read_text()

        wait_until(answered, timeout=60, what="the development server's request line")
    finally:
        server.terminate()
        server.wait(timeout=20)

    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    request = next(line for line in lines if line["logger"] == "django.server")
    assert request["message"].startswith('"GET /portal/messages/?[query] HTTP/1.1"'), request
    text = log.read_text()
    assert NUMBER[1:] not in text and "Secret-diagnosis" not in text, text
