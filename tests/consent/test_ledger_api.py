"""The consent ledger over the API, the admin and the portal: who agreed to what, when and how."""

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError

from entities.models import Consent, ConsentProgram, ConsentRecord
from tests.consent.conftest import opt_in
from tests.factories import CaregiverFactory, OrganizationUserFactory, PatientFactory

pytestmark = pytest.mark.django_db


def test_a_change_over_the_api_is_appended_with_who_and_shows_in_the_history(api_client, organization, reminders):
    patient = PatientFactory(organization=organization)
    opt_in(patient, reminders, source="sms", text=reminders.consent_text)

    response = api_client.post(
        f"/api/v1/patients/{patient.pk}/consent",
        {"program": "medication-reminders", "status": "opted_out", "note": "called the clinic"},
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["consents"] == [
        {
            "program": "medication-reminders",
            "programName": "Medication reminders",
            "requireConsent": True,
            "status": "opted_out",
            "updatedAt": body["consents"][0]["updatedAt"],
        }
    ]
    newest, oldest = body["history"]
    assert (newest["status"], newest["source"], newest["note"]) == ("opted_out", "api", "called the clinic")
    assert newest["actor"].startswith("API key default")
    assert (oldest["status"], oldest["source"], oldest["text"]) == ("opted_in", "sms", reminders.consent_text)
    assert api_client.get(f"/api/v1/patients/{patient.pk}/consent").json() == body | {}


def test_caregivers_and_staff_have_consent_too(api_client, organization, reminders):
    for path, person in (
        ("caregivers", CaregiverFactory(organization=organization)),
        ("organization-users", OrganizationUserFactory(organization=organization)),
    ):
        response = api_client.post(
            f"/api/v1/{path}/{person.pk}/consent", {"program": reminders.slug, "status": "opted_in"}, format="json"
        )
        assert response.status_code == 201, response.content
        assert response.json()["entityType"] == person.entity_type


def test_bad_input_names_the_field_and_saves_nothing(api_client, organization, other_organization, reminders):
    patient = PatientFactory(organization=organization)
    stranger = PatientFactory(organization=other_organization)
    url = f"/api/v1/patients/{patient.pk}/consent"

    unknown = api_client.post(url, {"program": "nope", "status": "opted_in"}, format="json")
    bad_status = api_client.post(url, {"program": reminders.slug, "status": "maybe"}, format="json")
    missing = api_client.post(url, {"status": "opted_in"}, format="json")
    other_org = api_client.post(
        f"/api/v1/patients/{stranger.pk}/consent", {"program": reminders.slug, "status": "opted_in"}, format="json"
    )

    assert (unknown.status_code, unknown.json()["field"]) == (400, "program")
    assert bad_status.status_code == 400 and "status" in str(bad_status.json())
    assert missing.status_code == 400 and "program" in str(missing.json())
    assert (other_org.status_code, other_org.json()["field"]) == (404, "id")
    assert not ConsentRecord.objects.exists() and not Consent.objects.exists()


def test_another_organizations_program_is_unknown(api_client, organization, other_organization):
    ConsentProgram.objects.create(organization=other_organization, slug="theirs", name="Theirs")
    patient = PatientFactory(organization=organization)

    response = api_client.post(
        f"/api/v1/patients/{patient.pk}/consent", {"program": "theirs", "status": "opted_in"}, format="json"
    )

    assert (response.status_code, response.json()["field"]) == (400, "program")
    assert api_client.get("/api/v1/consent-programs/theirs").status_code == 404
    assert api_client.get("/api/v1/consent-programs/").json()["results"] == []


def test_programs_are_created_by_slug_and_their_uniqueness_names_the_field(api_client, organization):
    created = api_client.post(
        "/api/v1/consent-programs/",
        {"slug": "appointments", "name": "Appointment reminders", "keyword": "appts", "requireConsent": True,
         "sources": ["portal"]},
        format="json",
    )  # fmt: skip
    again = api_client.post("/api/v1/consent-programs/", {"slug": "appointments", "name": "Again"}, format="json")
    keyword = api_client.post(
        "/api/v1/consent-programs/", {"slug": "other", "name": "Other", "keyword": "APPTS"}, format="json"
    )
    bad_source = api_client.post(
        "/api/v1/consent-programs/", {"slug": "x", "name": "X", "sources": ["system"]}, format="json"
    )

    assert created.status_code == 201 and created.json()["keyword"] == "APPTS"
    assert (again.status_code, again.json()["field"]) == (409, "slug")
    assert (keyword.status_code, keyword.json()["field"]) == (409, "keyword")
    assert bad_source.status_code == 400 and "sources" in str(bad_source.json())
    assert ConsentProgram.objects.filter(organization=organization).count() == 1


def test_the_ledger_lists_only_the_organizations_records(api_client, other_api_client, organization, reminders):
    patient = PatientFactory(organization=organization)
    opt_in(patient, reminders)

    mine = api_client.get(f"/api/v1/consent-records/?entityId={patient.pk}").json()
    theirs = other_api_client.get("/api/v1/consent-records/").json()

    assert [r["entityId"] for r in mine["results"]] == [str(patient.pk)]
    assert theirs["results"] == []
    assert api_client.get("/api/v1/consent-records/?entityId=nope").status_code == 400


def test_records_are_append_only_and_follow_the_persons_number(organization, reminders):
    patient = PatientFactory(organization=organization, phone="+12025550161")
    record = opt_in(patient, reminders)

    with pytest.raises(ValidationError):
        record.save()
    with pytest.raises(ValidationError):
        record.delete()
    patient.phone = "+12025550162"
    patient.save()
    assert Consent.objects.get(entity_id=patient.pk).phone_number == "+12025550162"
    assert ConsentRecord.objects.get().phone_number == "+12025550161"  # the number at the time
    patient.delete()
    assert not Consent.objects.exists() and ConsentRecord.objects.count() == 1  # the proof stays


def test_openapi_documents_the_consent_endpoints(client):
    schema = client.get("/api/schema/").content.decode()
    for path in ("/api/v1/consent-programs/", "/api/v1/consent-records/", "/api/v1/patients/{id}/consent"):
        assert path in schema


@pytest.fixture
def staff(client, organization):
    from entities.roles import organization_login_create

    user, _ = organization_login_create(organization=organization, email="nurse@example.org", role="admin")
    client.force_login(user)
    return user


def test_portal_page_shows_consent_and_staff_record_it(client, staff, organization, reminders):
    patient = PatientFactory(organization=organization)

    page = client.get(f"/portal/patients/{patient.pk}/")
    response = client.post(
        f"/portal/patients/{patient.pk}/consent",
        {"program": reminders.pk, "status": "opted_in", "note": "signed form at intake"},
    )

    assert page.status_code == 200 and "Medication reminders" in page.content.decode()
    assert response.status_code == 302
    record = ConsentRecord.objects.get()
    assert (record.source, record.user, record.text, record.note) == (
        "portal", staff, reminders.consent_text, "signed form at intake",
    )  # fmt: skip
    after = client.get(f"/portal/patients/{patient.pk}/").content.decode()
    assert "signed form at intake" in after
    assert '<span class="badge opted_in">Opted in</span>' in after  # the status's label, not "Optedin"
    assert '<span class="badge unknown">Unknown</span>' in page.content.decode()


def test_portal_form_refuses_another_organizations_program(client, staff, organization, other_organization):
    theirs = ConsentProgram.objects.create(organization=other_organization, slug="theirs", name="Theirs")
    ConsentProgram.objects.create(organization=organization, slug="mine", name="Mine")
    patient = PatientFactory(organization=organization)

    response = client.post(f"/portal/patients/{patient.pk}/consent", {"program": theirs.pk, "status": "opted_in"})

    assert response.status_code == 400 and "program" in response.context["consent_form"].errors
    assert not ConsentRecord.objects.exists()


def test_admin_appends_a_record_and_refuses_another_organizations_person(
    client, staff, organization, other_organization, reminders
):
    patient = PatientFactory(organization=organization)
    stranger = PatientFactory(organization=other_organization)
    form = {"program": reminders.pk, "entity_type": "patient", "status": "opted_in", "text": "paper form"}

    refused = client.post("/admin/entities/consentrecord/add/", {**form, "entity_id": stranger.pk})
    added = client.post("/admin/entities/consentrecord/add/", {**form, "entity_id": patient.pk})

    assert refused.status_code == 200 and "entity_id" in refused.context["adminform"].form.errors
    assert added.status_code == 302, added.content.decode()[:2000]
    record = ConsentRecord.objects.get()
    assert (record.entity_id, record.source, record.user) == (patient.pk, "admin", staff)
    page = client.get(f"/admin/entities/patient/{patient.pk}/change/").content.decode()
    assert "paper form" not in page and "Medication reminders" in page and "Opted in" in page
    assert client.get(f"/admin/entities/consentrecord/{record.pk}/delete/").status_code == 403
    assert User.objects.filter(pk=staff.pk).exists()
