"""`manage.py seed_demo`: a newcomer's first minute — log in, send an SMS."""

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.test import RequestFactory
from rest_framework.test import APIClient

from entities.models import Caregiver, Organization, OrganizationUser, Patient
from gateways.models import Gateway

pytestmark = pytest.mark.django_db(transaction=True)


def _seed(capsys) -> dict:
    call_command("seed_demo")
    lines = capsys.readouterr().out.splitlines()
    login = next(line for line in lines if line.startswith("Admin login"))
    return {"password": login.split("password: ")[1], "key": lines[-1].split(": ")[1]}


def test_seed_demo_is_idempotent_and_prints_a_working_login_and_key(capsys):
    first = _seed(capsys)
    second = _seed(capsys)

    assert first == second
    org = Organization.objects.get(slug="demo-org", name="Demo Org")
    assert Organization.objects.count() == 1 and Patient.objects.filter(organization=org).count() == 3
    caregiver = Caregiver.objects.get(organization=org)
    assert caregiver.patients.count() == 1
    user = authenticate(RequestFactory().post("/admin/login/"), username="admin", password=first["password"])
    assert user is not None and user.is_staff
    assert OrganizationUser.objects.get(user=user).organization == org
    assert Gateway.objects.get(organization=org, is_default=True).type == "simulator"

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {first['key']}")
    response = client.post(
        "/notification/v1/sms/send", {"message": "Hello", "phoneNumber": "+12025550101"}, format="json"
    )
    assert response.status_code == 200, response.content
