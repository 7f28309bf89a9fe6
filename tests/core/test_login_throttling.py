"""Repeated wrong passwords lock a username + address out (django-axes), on the API and the admin."""

import base64

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


def basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_basic_auth_is_locked_out_after_repeated_failures(settings, organization):
    settings.AXES_FAILURE_LIMIT = 3
    User.objects.create_user("nurse", password="right-password")
    client = APIClient()

    for _ in range(2):
        assert client.get("/api/v1/patients/", HTTP_AUTHORIZATION=basic("nurse", "wrong")).status_code == 401
    assert client.get("/api/v1/patients/", HTTP_AUTHORIZATION=basic("nurse", "wrong")).status_code == 429
    locked = client.get("/api/v1/patients/", HTTP_AUTHORIZATION=basic("nurse", "right-password"))

    assert locked.status_code == 429
    assert "too many failed logins" in locked.json()["error"]
    assert locked["Retry-After"]


def test_dhis2_clients_get_the_lockout_as_a_web_message(settings, organization):
    settings.AXES_FAILURE_LIMIT = 1
    User.objects.create_user("nurse", password="right-password")
    client = APIClient()

    client.get("/api/sms/outbound", HTTP_AUTHORIZATION=basic("nurse", "wrong"))
    locked = client.get("/api/sms/outbound", HTTP_AUTHORIZATION=basic("nurse", "right-password"))

    assert locked.status_code == 429
    assert locked.json()["httpStatusCode"] == 429
    assert "too many failed logins" in locked.json()["message"]


def test_admin_login_is_locked_out(settings, client):
    settings.AXES_FAILURE_LIMIT = 2
    User.objects.create_superuser("boss", password="right-password")

    for _ in range(2):
        client.post("/admin/login/", {"username": "boss", "password": "wrong"})
    response = client.post("/admin/login/", {"username": "boss", "password": "right-password"})

    assert response.status_code == 429
