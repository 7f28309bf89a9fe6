"""The BioT entity shape (`data.entity` of the `_incomingSms` payload in tests/payloads/biot/).

Plugin payloads and the entity APIs rely on it.
"""

import datetime

import pytest

from entities.serializers import entity_biot_representation
from tests.factories import CaregiverFactory, OrganizationUserFactory, PatientFactory

pytestmark = pytest.mark.django_db

# Every key of the seed's data.entity except the example's custom attributes ("sex", "group").
SEED_KEYS = {
    "_name", "_description", "_email", "_phone", "_locale", "_gender", "_dateOfBirth", "_address", "_mfa",
    "_nationalId", "_id", "_ownerOrganization", "_creationTime", "_lastModifiedTime", "_invitationAccepted",
    "_template", "_referencers", "_enabled", "_username", "_registrationSource", "_canLogin", "_caption",
}  # fmt: skip


def test_patient_renders_in_the_seed_shape(organization):
    patient = PatientFactory(
        organization=organization,
        first_name="Patient",
        last_name="Zero",
        email="patient0@example.org",
        phone="+12025550142",
        gender="MALE",
        date_of_birth=datetime.date(1985, 11, 11),
        address_country_code="US",
        national_id="76986",
        can_login=True,
        invitation_accepted=True,
        custom_attributes={"sex": "male", "group": None},
    )

    data = entity_biot_representation(patient)

    assert set(data) == SEED_KEYS | {"sex", "group"}
    assert data["_name"] == {"firstName": "Patient", "lastName": "Zero"}
    assert data["_phone"] == "+12025550142"
    assert data["_dateOfBirth"] == "1985-11-11"
    assert data["_address"] == {
        "countryCode": "US", "state": None, "city": None, "zipCode": None, "address1": None, "address2": None,
    }  # fmt: skip
    assert data["_mfa"] == {"enabled": False, "expirationInMinutes": None}
    assert data["_id"] == str(patient.id)
    assert data["_ownerOrganization"] == {
        "id": str(organization.id),
        "name": "Demo Org",
        "templateId": str(organization.template_id),
        "parentEntityId": None,
    }
    assert data["_template"]["name"] == "patient" and set(data["_template"]) == {"id", "name", "displayName"}
    assert data["_creationTime"].endswith("Z") and data["_lastModifiedTime"].endswith("Z")
    assert data["_enabled"] == "ENABLED"
    assert data["_username"] == "patient0@example.org"
    assert data["_registrationSource"] == "INVITATION"
    assert data["_caption"] == "Zero Patient (76986)"
    assert data["sex"] == "male" and data["group"] is None


def test_empty_attributes_are_null_not_blank(organization):
    user = OrganizationUserFactory(organization=organization, email="", phone="", national_id="")

    data = entity_biot_representation(user)

    assert data["_email"] is None and data["_phone"] is None and data["_nationalId"] is None
    assert data["_username"] is None  # cannot log in
    assert data["_template"]["name"] == "organization-user"


def test_patient_lists_its_caregivers_as_referencers(organization):
    patient = PatientFactory(organization=organization)
    caregiver = CaregiverFactory(organization=organization)
    caregiver.patients.add(patient)

    patient_data = entity_biot_representation(patient)
    caregiver_data = entity_biot_representation(caregiver)

    assert patient_data["_referencers"]["caregivers"]["count"] == 1
    assert patient_data["_referencers"]["caregivers"]["referrer"]["id"] == str(caregiver.id)
    assert caregiver_data["patients"] == [{"id": str(patient.id), "name": patient.full_name}]
    assert caregiver_data["_template"]["name"] == "caregiver"
