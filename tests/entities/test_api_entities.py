"""Entity APIs in BioT's shape, scoped to the caller's organization."""

import pytest

from entities.models import Caregiver, Patient
from tests.factories import CaregiverFactory, OrganizationUserFactory, PatientFactory

pytestmark = pytest.mark.django_db

PATIENT = {
    "_name": {"firstName": "Ada", "lastName": "Lovelace"},
    "_phone": "+12025550150",
    "_email": "ada@example.org",
    "_gender": "FEMALE",
    "_dateOfBirth": "1985-11-11",
    "_address": {"countryCode": "US", "city": "Boston"},
    "_nationalId": "A-1",
    "_locale": "en-us",
    "sex": "female",
}


@pytest.mark.parametrize("path", ["patients", "caregivers", "organization-users"])
def test_create_then_read_back_in_biot_shape(api_client, organization, path):
    created = api_client.post(f"/api/v1/{path}/", PATIENT, format="json")

    assert created.status_code == 201, created.content
    entity_id = created.json()["_id"]
    got = api_client.get(f"/api/v1/{path}/{entity_id}/").json()
    assert got == created.json()
    assert got["_phone"] == "+12025550150" and got["_address"]["city"] == "Boston"
    assert got["_ownerOrganization"]["id"] == str(organization.id)
    assert got["sex"] == "female"
    assert got["_caption"] == "Lovelace Ada (A-1)"


def test_list_is_paged_and_filters_by_phone(api_client, organization):
    PatientFactory(organization=organization, phone="+12025550160")
    PatientFactory(organization=organization, phone="+12025550161")

    everyone = api_client.get("/api/v1/patients/").json()
    by_phone = api_client.get("/api/v1/patients/", {"phone": "+12025550161"}).json()

    assert everyone["count"] == 2 and len(everyone["results"]) == 2
    assert [p["_phone"] for p in by_phone["results"]] == ["+12025550161"]


def test_update_and_partial_update(api_client, organization):
    patient = PatientFactory(organization=organization, first_name="Old", national_id="X")

    put = api_client.put(f"/api/v1/patients/{patient.id}/", PATIENT, format="json")
    patch = api_client.patch(f"/api/v1/patients/{patient.id}/", {"_phone": "+12025550199"}, format="json")

    assert put.status_code == 200 and put.json()["_name"]["firstName"] == "Ada"
    assert patch.status_code == 200
    patient.refresh_from_db()
    assert str(patient.phone) == "+12025550199" and patient.first_name == "Ada" and patient.national_id == "A-1"


def test_delete(api_client, organization):
    patient = PatientFactory(organization=organization)

    assert api_client.delete(f"/api/v1/patients/{patient.id}/").status_code == 204
    assert not Patient.objects.filter(pk=patient.id).exists()


def test_caregiver_is_linked_to_the_patients_they_care_for(api_client, organization):
    patient = PatientFactory(organization=organization)

    created = api_client.post("/api/v1/caregivers/", {**PATIENT, "patients": [str(patient.id)]}, format="json")

    assert created.status_code == 201, created.content
    assert created.json()["patients"] == [{"id": str(patient.id), "name": patient.full_name}]
    assert list(Caregiver.objects.get().patients.all()) == [patient]


def test_another_organizations_entities_are_404(api_client, other_organization):
    theirs = PatientFactory(organization=other_organization)
    their_caregiver = CaregiverFactory(organization=other_organization)
    their_user = OrganizationUserFactory(organization=other_organization)

    assert api_client.get(f"/api/v1/patients/{theirs.id}/").status_code == 404
    assert api_client.put(f"/api/v1/patients/{theirs.id}/", PATIENT, format="json").status_code == 404
    assert api_client.delete(f"/api/v1/patients/{theirs.id}/").status_code == 404
    assert api_client.get(f"/api/v1/caregivers/{their_caregiver.id}/").status_code == 404
    assert api_client.get(f"/api/v1/organization-users/{their_user.id}/").status_code == 404
    assert api_client.get("/api/v1/patients/").json()["count"] == 0
    assert Patient.objects.filter(pk=theirs.id).exists()


def test_caregiver_cannot_be_linked_to_another_organizations_patient(api_client, other_organization):
    theirs = PatientFactory(organization=other_organization)

    response = api_client.post("/api/v1/caregivers/", {**PATIENT, "patients": [str(theirs.id)]}, format="json")

    assert response.status_code == 400 and response.json()["field"] == "patients"
    assert Caregiver.objects.count() == 0


@pytest.mark.parametrize("entity_id", ["6a1bd0a7-3f16-4d42-9d35-5f2c3e1e7e11", "not-an-id", "12"])
def test_unknown_or_malformed_id_is_a_json_404(api_client, organization, entity_id):
    response = api_client.get(f"/api/v1/patients/{entity_id}/")

    assert response.status_code == 404 and "error" in response.json()
    assert api_client.delete(f"/api/v1/caregivers/{entity_id}/").status_code == 404


@pytest.mark.parametrize(
    "payload, field",
    [
        ({**PATIENT, "_phone": "2025550150"}, "_phone"),
        ({**PATIENT, "_phone": "+1202"}, "_phone"),
        ({**PATIENT, "_email": "not-an-email"}, "_email"),
        ({**PATIENT, "_dateOfBirth": "11/11/1985"}, "_dateOfBirth"),
        ({**PATIENT, "_gender": "ROBOT"}, "_gender"),
        ({k: v for k, v in PATIENT.items() if k != "_name"}, "_name"),
        ({**PATIENT, "_name": {"lastName": "X"}}, "_name"),
        ({**PATIENT, "_typo": 1}, "_typo"),
        ({**PATIENT, "_locale": "5"}, "_locale"),  # the language messages to them are sent in
        ({**PATIENT, "_locale": "Spanish"}, "_locale"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_saved(api_client, organization, payload, field):
    response = api_client.post("/api/v1/patients/", payload, format="json")

    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert Patient.objects.count() == 0


def test_malformed_json_is_a_400(api_client, organization):
    response = api_client.post("/api/v1/patients/", '{"_name": ', content_type="application/json")

    assert response.status_code == 400 and response.json()["field"] == "body"
    assert Patient.objects.count() == 0


def test_no_key_is_a_401(client, organization):
    assert client.get("/api/v1/patients/").status_code == 401
