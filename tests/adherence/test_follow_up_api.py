"""`/api/v1/follow-ups/`: list and filter, assign, record an outcome, close, reopen; organization-scoped."""

import pytest

from adherence.models import FollowUp, FollowUpEvent
from tests.factories import FollowUpFactory, OrganizationUserFactory, PatientFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/follow-ups/"


@pytest.fixture
def item(organization):
    return FollowUpFactory(organization=organization)


def test_list_filters_and_never_shows_another_organizations_items(api_client, item, organization, other_organization):
    FollowUpFactory(organization=other_organization, patient=PatientFactory(organization=other_organization))
    closed = FollowUpFactory(organization=organization, reason="silent", status="closed")

    assert [r["id"] for r in api_client.get(URL).json()["results"]] == [str(closed.pk), str(item.pk)]
    assert [r["id"] for r in api_client.get(URL, {"status": "open"}).json()["results"]] == [str(item.pk)]
    assert [r["id"] for r in api_client.get(URL, {"reason": "silent"}).json()["results"]] == [str(closed.pk)]
    assert [r["id"] for r in api_client.get(URL, {"patientId": str(item.patient_id)}).json()["results"]] == [
        str(item.pk)
    ]
    assert len(api_client.get(URL, {"assigneeId": "none"}).json()["results"]) == 2


def test_assign_record_close_reopen(api_client, item, organization):
    nurse = OrganizationUserFactory(organization=organization)

    assigned = api_client.post(f"{URL}{item.pk}/assign", {"assigneeId": str(nurse.pk)}, format="json")
    assert assigned.status_code == 200 and assigned.json()["assignedToId"] == str(nurse.pk)
    recorded = api_client.post(
        f"{URL}{item.pk}/outcome", {"outcome": "not_reached", "note": "No answer", "close": True}, format="json"
    )
    assert recorded.status_code == 200
    assert (recorded.json()["status"], recorded.json()["outcome"]) == ("closed", "not_reached")
    reopened = api_client.post(f"{URL}{item.pk}/reopen", {"note": "Try again"}, format="json")
    assert reopened.json()["status"] == "open"
    assert [h["kind"] for h in api_client.get(f"{URL}{item.pk}").json()["history"]] == [
        "reopened",
        "closed",
        "outcome",
        "assigned",
    ]


@pytest.mark.parametrize(
    ("path", "data", "field"),
    [
        ("outcome", {"outcome": "emailed"}, "outcome"),
        ("outcome", {"outcome": "note", "note": ""}, "note"),
        ("outcome", {"outcome": "reached", "note": "x" * 2001}, "note"),
        ("assign", {"assigneeId": "not-a-uuid"}, "assigneeId"),
        ("assign", {}, "assigneeId"),
        ("reopen", {}, "status"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(api_client, item, path, data, field):
    response = api_client.post(f"{URL}{item.pk}/{path}", data, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body.get("field") == field or field in (body.get("fields") or {})
    assert not FollowUpEvent.objects.exists()


@pytest.mark.parametrize(("param", "value"), [("status", "pending"), ("reason", "bored"), ("patientId", "x")])
def test_bad_filters_are_a_400_naming_the_parameter(api_client, param, value):
    response = api_client.get(URL, {param: value})

    assert response.status_code == 400 and response.json()["field"] == param


def test_another_organizations_item_or_staff(api_client, other_api_client, item, other_organization):
    assert other_api_client.get(f"{URL}{item.pk}").status_code == 404
    assert other_api_client.post(f"{URL}{item.pk}/close", {}, format="json").status_code == 404

    outsider = OrganizationUserFactory(organization=other_organization)
    response = api_client.post(f"{URL}{item.pk}/assign", {"assigneeId": str(outsider.pk)}, format="json")
    assert response.status_code == 400 and response.json()["field"] == "assigneeId"
    assert FollowUp.objects.get().status == "open"


def test_schedule_texts_are_checked_per_language_over_the_api(api_client, organization):
    from adherence.models import MedicationSchedule

    patient = PatientFactory(organization=organization)
    body = {
        "patientId": str(patient.pk),
        "medication": "Metformin",
        "doseTimes": ["08:00"],
        "startDate": "2026-06-01",
        "reminderTexts": {"en": "Take {medication}", "es": "Tome {medicina}"},
        "followUpMissedDoses": 3,
    }

    bad = api_client.post("/api/v1/medication-schedules/", body, format="json")
    assert bad.status_code == 400
    assert "es: unknown placeholder {medicina}" in bad.json()["fields"]["reminderTexts"][0]
    assert not MedicationSchedule.objects.exists()

    body["reminderTexts"]["es"] = "Tome {medication}"
    good = api_client.post("/api/v1/medication-schedules/", body, format="json")
    assert good.status_code == 201 and good.json()["followUpMissedDoses"] == 3
