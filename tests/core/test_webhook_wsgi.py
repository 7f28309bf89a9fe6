"""The WSGI application (smsportal/wsgi.py) serves provider webhooks through a short middleware
stack and everything else through settings.MIDDLEWARE; what a webhook relies on is kept."""

from urllib.parse import urlencode

import pytest
from django.db import OperationalError
from twilio.request_validator import RequestValidator

from messaging.models import InboundMessage
from smsportal.wsgi import WEBHOOK_MIDDLEWARE, application
from tests.factories import GatewayFactory
from tests.wsgi_app import call

pytestmark = pytest.mark.django_db(transaction=True)
AUTH_TOKEN = "twilio-auth-token"
PUBLIC = "https://sms.example.org"


@pytest.fixture
def twilio(organization, settings):
    settings.SMSPORTAL_PUBLIC_BASE_URL = PUBLIC
    settings.ALLOWED_HOSTS = ["testserver"]
    return GatewayFactory(
        organization=organization,
        name="twilio",
        type="twilio",
        config={"accountSid": "AC" + "1" * 32, "from": "+12025550100"},
        secrets={"authToken": AUTH_TOKEN},
    )


def signed(gateway, sid="SM1", token=AUTH_TOKEN):
    path = f"/webhooks/{gateway.id}/inbound"
    form = {"MessageSid": sid, "AccountSid": "AC" + "1" * 32, "From": "+12025550123", "To": "+12025550100"}
    form |= {"Body": "1", "NumMedia": "0"}
    signature = RequestValidator(token).compute_signature(f"{PUBLIC}{path}", form)
    return path, urlencode(form).encode(), {"X-Twilio-Signature": signature}


def test_a_signed_webhook_is_stored_once_through_the_short_stack_with_the_security_headers(twilio):
    path, body, headers = signed(twilio)

    status, response_headers, _ = call("POST", path, body, headers=headers)
    again, _, _ = call("POST", path, body, headers=headers)

    assert (status, again) == (200, 200)
    assert InboundMessage.objects.count() == 1
    assert "no-store" in response_headers["Cache-Control"]
    assert response_headers["X-Frame-Options"] == "DENY"
    assert "Set-Cookie" not in response_headers  # no session machinery on a provider's request


def test_a_forged_signature_is_still_403(twilio):
    path, body, headers = signed(twilio, token="not-the-token")

    assert call("POST", path, body, headers=headers)[0] == 403
    assert InboundMessage.objects.count() == 0


def test_a_hostile_query_string_on_a_webhook_is_400_naming_the_parameter(twilio):
    path, body, headers = signed(twilio)

    status, _, content = call("POST", path, body, query="token=a%00b", headers=headers)

    assert status == 400 and b"token" in content
    assert InboundMessage.objects.count() == 0


def test_trace_on_a_webhook_is_405(twilio):
    assert call("TRACE", f"/webhooks/{twilio.id}/inbound")[0] == 405


def test_a_database_outage_during_a_webhook_is_503_so_the_provider_retries(twilio, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("messaging.views_webhooks.inbound_receive", down)
    path, body, headers = signed(twilio)

    assert call("POST", path, body, headers=headers)[0] == 503


def test_other_paths_keep_the_full_stack():
    assert application.full._middleware_chain is not application.webhooks._middleware_chain
    status, headers, _ = call("GET", "/portal/")
    assert status == 302 and "/login" in headers["Location"]  # sessions + authentication ran


def test_the_short_stack_is_a_subset_in_the_same_order_as_settings(settings):
    assert WEBHOOK_MIDDLEWARE == [m for m in settings.MIDDLEWARE if m in WEBHOOK_MIDDLEWARE]
