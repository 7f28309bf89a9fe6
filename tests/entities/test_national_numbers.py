"""One rule for national numbers: forms (admin, portal) and the DHIS2 API read them in the
organization's default region; the BioT API takes full international format only."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from entities.models import Patient
from messaging.models import OutboundMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def us_organization(organization):
    organization.default_region = "US"
    organization.save()
    return organization


def _patient_form(user, data, organization=None):
    model_admin = admin.site._registry[Patient]
    request = RequestFactory().get("/admin/")
    request.user = user
    form_class = model_admin.get_form(request, None)
    base = {
        "first_name": "Ana", "last_name": "Lopez", "locale": "en", "gender": "UNDISCLOSED", "enabled": "ENABLED",
        "registration_source": "INVITATION", "custom_attributes": "{}", "description": "", "email": "",
    }  # fmt: skip
    if organization is not None:
        base["organization"] = str(organization.pk)
    return form_class(data={**base, **data})


def test_the_admin_reads_a_national_number_in_the_organizations_region(us_organization, admin_user):
    form = _patient_form(admin_user, {"phone": "202-555-0199"}, us_organization)

    assert form.is_valid(), form.errors
    assert str(form.save().phone) == "+12025550199"


@pytest.mark.parametrize("bad", ["555-0199", "+99912345", "202-555-01999", "abc"])
def test_the_admin_refuses_a_bad_number_naming_the_field(us_organization, admin_user, bad):
    form = _patient_form(admin_user, {"phone": bad}, us_organization)

    assert not form.is_valid() and "phone" in form.errors
    assert not Patient.objects.exists()


def test_without_a_default_region_the_admin_asks_for_full_format(organization, admin_user):
    form = _patient_form(admin_user, {"phone": "202-555-0199"}, organization)

    assert not form.is_valid() and "international format" in form.errors["phone"][0]


def test_the_dhis2_api_reads_national_numbers_in_the_region(api_client, us_organization, gateway):
    response = api_client.post("/api/sms/outbound", {"message": "Hi", "recipients": ["(202) 555-0199"]}, format="json")

    assert response.status_code == 200, response.content
    assert OutboundMessage.objects.get().recipient == "+12025550199"


def test_the_biot_apis_take_full_format_only(api_client, us_organization, gateway):
    send = api_client.post("/notification/v1/sms/send", {"message": "Hi", "phoneNumber": "202-555-0199"}, format="json")
    assert send.status_code == 400 and "phoneNumber" in send.json()["fields"]

    body = {"_name": {"firstName": "A", "lastName": "B"}, "_phone": "202-555-0199", "_email": "a@example.org"}
    created = api_client.post("/api/v1/patients", body, format="json")
    assert created.status_code == 400 and "_phone" in str(created.json())
    assert not OutboundMessage.objects.exists() and not Patient.objects.exists()
