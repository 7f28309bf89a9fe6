"""Secrets, numbers and message texts stay out of logs and stored error texts."""

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from messaging.models import OutboundMessage
from messaging.services.outbound import messages_queue
from smsportal.redact import redact
from tests.core.test_logging_no_phi import log_lines  # noqa: F401, F811 — the shared fixture
from tests.factories import GatewayFactory

pytestmark = pytest.mark.django_db(transaction=True)

NUMBER = "+12025550101"
TEXT = "Your HIV test result is ready"
PASSWORD = "s3cret-pa55word"


def test_a_webhook_token_in_the_path_is_not_logged_on_a_4xx(client, organization, log_lines):  # noqa: F811
    token = "tok-Path-Segment-9f8e7d"
    gateway = GatewayFactory(organization=organization, type="clickatell", secrets={"webhookTokens": [token]})

    hostile = client.post(
        f"/webhooks/{gateway.pk}/{token}/inbound", "from=a%00b", content_type="application/x-www-form-urlencoded"
    )
    forbidden = client.post(f"/webhooks/{gateway.pk}/{token}x/status", "{}", content_type="application/json")

    assert (hostile.status_code, forbidden.status_code) == (400, 403)
    assert any(str(gateway.pk) in line for line in log_lines), log_lines
    assert not [line for line in log_lines if token in line]


class _EchoingProvider(BaseHTTPRequestHandler):
    """A provider that answers 400 and echoes the request (headers and body) in its error."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        problem = {"title": "Bad request", "detail": f"{self.headers.get('Authorization')} {body}"[:120]}
        payload = json.dumps(problem).encode()
        self.send_response(400)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture
def echoing_provider(settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingProvider)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_an_echoed_request_leaves_no_credential_number_or_text_in_stored_errors(organization, echoing_provider):
    gateway = GatewayFactory(
        organization=organization,
        type="bulksms",
        config={"urlTemplate": f"{echoing_provider}/v1/messages", "username": "acct"},
        secrets={"password": PASSWORD},
    )
    message = messages_queue(organization=organization, recipients=[NUMBER], body=TEXT, source="portal").messages[0]

    message = OutboundMessage.objects.get(pk=message.pk)
    gateway.refresh_from_db()
    credential = base64.b64encode(f"acct:{PASSWORD}".encode()).decode()
    assert message.status == "failed" and "HTTP 400" in message.error_reason, message.error_reason
    for stored in (message.error_reason, gateway.last_error):
        for secret in (credential, PASSWORD, NUMBER, NUMBER[1:], TEXT):
            assert secret not in stored, stored
    assert len(message.error_reason) <= 300


@pytest.mark.parametrize(
    "text, secret",
    [
        ("refused: Authorization: Basic YWNjdDpzM2NyZXQ= for +1 (202) 555-0101", "YWNjdDpzM2NyZXQ="),
        ("refused: Authorization: Basic YWNjdDpzM2NyZXQ= for +1 (202) 555-0101", "555-0101"),
        ("bad token=abc123def456 in request", "abc123def456"),
        ('{"password": "hunter2hunter2"}', "hunter2hunter2"),
        ("Not Found: /webhooks/0b1e6a2c-8a3e-4d7a-9f0e-1234567890ab/tok-1/inbound", "tok-1"),
        ("To=%2B4791234567&Body=hi", "4791234567"),
    ],
)
def test_redact_removes_credentials_tokens_and_numbers(text, secret):
    assert secret not in redact(text)


def test_redact_keeps_what_helps_support():
    text = "provider refused HTTP 400: Twilio error 30008 at 2024-05-07 gateway 0b1e6a2c-8a3e-4d7a-9f0e-1234567890ab"
    assert redact(text) == text
    # One random id in forty starts with eight digits: it is an id, not a phone number.
    path = "POST /webhooks/12345678-29c4-46b8-96d2-99f99fa168d9/inbound"
    assert redact(path) == path
    assert redact("call 12345678-1 now") == "call [number] now"
    cleaned = "Cleaned up 0 expired access attempts older than 2026-12-08 00:44:09.171188+00:00"
    assert redact(cleaned) == cleaned  # a time's seconds are not a number to hide
    assert redact("reply from 12.34.56.78 and +47 12 34 56 78") == "reply from [number] and [number]"
    assert len(redact("x" * 1000, cap=300)) == 300
