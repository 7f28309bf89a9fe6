"""`/api/v1/medication-schedules/`: create, validate with field names, organization scoping."""

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from adherence.models import DoseSlot, MedicationSchedule
from tests.factories import OrganizationUserFactory, PatientFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/medication-schedules/"


def staff_client(organization, username):
    # Session/Basic users act for their organization through OrganizationUser.user.
    user = User.objects.create(username=username)
    OrganizationUserFactory(organization=organization, user=user)
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.fixture
def api_client(organization):
    return staff_client(organization, "staff")


@pytest.fixture
def other_api_client(other_organization):
    return staff_client(other_organization, "other-staff")


@pytest.fixture
def patient(organization):
    return PatientFactory(organization=organization)


def body(patient, **changes):
    data = {
        "patientId": str(patient.id),
        "medication": "Metformin 500 mg",
        "doseTimes": ["08:00", "20:00"],
        "startDate": "2026-01-01",
        "timezone": "Europe/Madrid",
        "reminderTexts": {"en": "Hi {first_name}, take {medication}", "es": "Hola {first_name}"},
    }
    data.update(changes)
    return data


def test_create_schedule_with_defaults_and_slots(api_client, patient, gateway):
    response = api_client.post(URL, body(patient), format="json")

    assert response.status_code == 201, response.json()
    data = response.json()
    assert data["confirmReplies"] == ["1", "Medication Taken"]
    assert data["responseWindowMinutes"] == 60 and data["daysOfWeek"] == [0, 1, 2, 3, 4, 5, 6]
    assert data["alertCaregivers"] is True
    assert DoseSlot.objects.filter(schedule_id=data["id"]).count() >= 3

    listed = api_client.get(URL).json()
    assert [s["id"] for s in listed["results"]] == [data["id"]]
    doses = api_client.get(f"{URL}{data['id']}/doses/").json()
    assert doses["results"][0]["status"] == "scheduled"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"doseTimes": []}, "doseTimes"),
        ({"doseTimes": ["7pm"]}, "doseTimes"),
        ({"startDate": "2026-02-01", "endDate": "2026-01-01"}, "endDate"),
        ({"reminderTexts": {"en": "Hi {nickname}"}}, "reminderTexts"),
        ({"daysOfWeek": [9]}, "daysOfWeek"),
    ],
)
def test_bad_schedule_is_a_400_naming_the_field(api_client, patient, changes, field):
    response = api_client.post(URL, body(patient, **changes), format="json")

    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert MedicationSchedule.objects.count() == 0


def test_update_moves_future_slots(api_client, patient, gateway):
    created = api_client.post(URL, body(patient, doseTimes=["08:00"]), format="json").json()

    response = api_client.patch(f"{URL}{created['id']}/", {"doseTimes": ["09:30"]}, format="json")

    assert response.status_code == 200, response.json()
    times = set(DoseSlot.objects.filter(schedule_id=created["id"]).values_list("local_time", flat=True))
    assert {t.strftime("%H:%M") for t in times} == {"09:30"}


def test_another_organizations_schedule_or_patient_is_a_404(api_client, other_api_client, patient, gateway):
    created = api_client.post(URL, body(patient), format="json").json()

    assert other_api_client.get(f"{URL}{created['id']}/").status_code == 404
    assert other_api_client.delete(f"{URL}{created['id']}/").status_code == 404
    assert other_api_client.get(URL).json()["results"] == []
    refused = other_api_client.post(URL, body(patient), format="json")
    assert refused.status_code == 400 and "patientId" in refused.json()["fields"]


def test_delete_removes_schedule(api_client, patient, gateway):
    created = api_client.post(URL, body(patient), format="json").json()

    assert api_client.delete(f"{URL}{created['id']}/").status_code == 204
    assert not MedicationSchedule.objects.exists()


def test_filter_by_patient_and_a_malformed_patient_id(api_client, patient, organization, gateway):
    from tests.factories import PatientFactory

    other = PatientFactory(organization=organization)
    created = api_client.post(URL, body(patient), format="json").json()
    api_client.post(URL, body(other), format="json")

    assert [s["id"] for s in api_client.get(f"{URL}?patientId={patient.pk}").json()["results"]] == [created["id"]]
    assert api_client.get(f"{URL}?patientId=not-a-uuid").status_code == 400
