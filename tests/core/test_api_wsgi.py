"""Cookieless API calls (an integrator's API key or HTTP Basic) go through the WSGI application's
short API stack (smsportal/wsgi.py); what they rely on is kept: authentication, the audit actor,
the login lockout, security headers, 503 during a database outage, hostile input refused."""

import base64
import json

import pytest
from django.contrib.auth.models import User
from django.contrib.contenttypes.models import ContentType
from django.db import OperationalError

from audit.models import AuditEntry
from entities.models import Patient
from messaging.models import OutboundMessage
from smsportal.wsgi import API_MIDDLEWARE, application
from tests.wsgi_app import call

pytestmark = pytest.mark.django_db(transaction=True)
SEND = "/notification/v1/sms/send"


@pytest.fixture(autouse=True)
def hosts(settings):
    settings.ALLOWED_HOSTS = ["testserver"]


def post_json(path: str, payload: dict, headers: dict):
    return call("POST", path, json.dumps(payload).encode(), headers=headers, content_type="application/json")


def bearer(key: str) -> dict:
    return {"Authorization": f"Bearer {key}"}


def basic(username: str, password: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def test_an_api_key_send_takes_the_short_stack_and_keeps_the_security_headers(api_key, gateway):
    status, headers, content = post_json(
        SEND, {"message": "Take 1 tablet", "phoneNumber": "+12025550150"}, bearer(api_key)
    )

    assert status == 200
    assert str(OutboundMessage.objects.get().id) == json.loads(content)["messageId"]
    assert "no-store" in headers["Cache-Control"] and headers["X-Frame-Options"] == "DENY"
    assert "Set-Cookie" not in headers


def test_without_credentials_the_short_stack_answers_401_and_stores_nothing(gateway):
    status, _, content = post_json(SEND, {"message": "Take 1 tablet", "phoneNumber": "+12025550150"}, {})

    assert status == 401
    assert not OutboundMessage.objects.exists()


def test_an_api_key_change_is_still_attributed_to_the_key_in_the_audit_trail(api_key, organization):
    payload = {"_name": {"firstName": "Ada", "lastName": "Lovelace"}, "_phone": "+12025550150"}

    status, _, _ = post_json("/api/v1/patients/", payload, bearer(api_key))

    assert status == 201
    (entry,) = AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(Patient))
    assert entry.api_key_prefix == api_key.split("_")[1] and entry.actor is None


def test_basic_auth_is_still_locked_out_after_repeated_failures(settings, organization):
    settings.AXES_FAILURE_LIMIT = 2
    User.objects.create_user("nurse", password="right-password")

    assert call("GET", "/api/v1/patients/", headers=basic("nurse", "wrong"))[0] == 401
    assert call("GET", "/api/v1/patients/", headers=basic("nurse", "wrong"))[0] == 429
    assert call("GET", "/api/v1/patients/", headers=basic("nurse", "right-password"))[0] == 429


def test_a_database_outage_during_a_send_is_503(api_key, gateway, monkeypatch):
    def down(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("messaging.views_outbound.messages_queue", down)

    status, _, _ = post_json(SEND, {"message": "Take 1 tablet", "phoneNumber": "+12025550150"}, bearer(api_key))

    assert status == 503


def test_a_hostile_query_string_is_400_naming_the_parameter(api_key):
    status, _, content = call("GET", "/api/v1/patients/", query="search=a%00b", headers=bearer(api_key))

    assert status == 400 and b"search" in content


def test_a_browsers_api_call_with_its_session_cookie_and_the_docs_keep_the_full_stack():
    cookie = {"HTTP_COOKIE": "sessionid=abc", "PATH_INFO": "/api/v1/patients/"}
    assert application.handler_for(cookie) is application.full
    assert application.handler_for({"PATH_INFO": "/api/docs/"}) is application.full
    assert application.handler_for({"PATH_INFO": "/portal/"}) is application.full
    assert application.handler_for({"PATH_INFO": "/api/v1/patients/"}) is application.api


def test_the_api_stack_is_a_subset_in_the_same_order_as_settings(settings):
    assert API_MIDDLEWARE == [m for m in settings.MIDDLEWARE if m in API_MIDDLEWARE]
