"""Headers for health data (issue 12, point 10): no-store, CSP, TRACE, session cookies."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.test import Client

from tests.factories import OrganizationUserFactory, PatientFactory

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def nurse(organization):
    user = User.objects.create_user("nurse", password="portal-pass")
    OrganizationUserFactory(organization=organization, user=user)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def superuser_client():
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    return client


def test_pages_and_api_answers_with_people_or_messages_are_not_stored(nurse, api_client, organization, gateway):
    patient = PatientFactory(organization=organization)
    answers = [
        nurse.get("/portal/"),
        nurse.get(f"/portal/patients/{patient.pk}/"),
        nurse.get("/portal/conversations/"),
        api_client.get("/api/v1/patients/"),
        api_client.get(f"/api/v1/patients/{patient.pk}/"),
        api_client.get("/api/sms/outbound"),
        api_client.get("/api/v1/patients/00000000-0000-0000-0000-000000000000/"),  # errors too
    ]
    for response in answers:
        assert response.status_code in (200, 404)
        assert "no-store" in response["Cache-Control"], response.request["PATH_INFO"]


def test_the_live_stream_is_not_stored(nurse):
    response = nurse.get("/portal/live")

    assert "no-store" in response["Cache-Control"]
    response.close()


def test_portal_pages_have_a_strict_content_security_policy(nurse):
    policy = nurse.get("/portal/")["Content-Security-Policy"]

    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy and "unsafe" not in policy.split("script-src")[1].split(";")[0]
    assert "connect-src 'self'" in policy  # live updates: same-origin EventSource
    assert "frame-ancestors 'none'" in policy and "object-src 'none'" in policy


def test_admin_pages_have_a_policy_that_lets_the_theme_run(superuser_client):
    response = superuser_client.get("/admin/")
    policy = response["Content-Security-Policy"]

    assert response.status_code == 200
    assert "script-src 'self' 'unsafe-eval'" in policy  # the theme's Alpine.js
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "https:" not in policy and "*" not in policy


def test_login_page_has_the_policy():
    assert "default-src 'self'" in Client().get("/accounts/login/")["Content-Security-Policy"]


@pytest.mark.parametrize("path", ["/portal/", "/admin/", "/api/v1/patients/", "/api/sms/outbound", "/healthz"])
def test_trace_is_refused(api_client, path):
    response = api_client.generic("TRACE", path)

    assert response.status_code == 405
    assert "TRACE" not in response["Allow"]


def test_the_session_cookie_is_secure_and_ends_with_the_browser(settings):
    User.objects.create_user("nurse", password="portal-pass")

    response = Client().post("/accounts/login/", {"username": "nurse", "password": "portal-pass"})
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]

    assert response.status_code == 302
    assert cookie["secure"] and cookie["httponly"]
    assert cookie["expires"] == "" and cookie["max-age"] == ""  # a browser-session cookie
    assert settings.SESSION_COOKIE_AGE == 12 * 3600


def _settings_value(name: str, **env) -> str:
    environment = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECURE_COOKIES", "SESSION_HOURS")}
    environment.update(env)
    code = f"from smsportal import settings; print(settings.{name})"
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60, check=True
    ).stdout.strip()


def test_cookies_are_secure_whenever_debug_is_off_unless_turned_off_explicitly():
    assert _settings_value("SESSION_COOKIE_SECURE", DEBUG="0") == "True"
    assert _settings_value("CSRF_COOKIE_SECURE", DEBUG="0") == "True"
    assert _settings_value("SESSION_COOKIE_SECURE", DEBUG="0", SECURE_COOKIES="0") == "False"
    assert _settings_value("SESSION_COOKIE_SECURE", DEBUG="1") == "False"  # make run: plain HTTP
    assert _settings_value("SESSION_COOKIE_AGE", SESSION_HOURS="8") == str(8 * 3600)
