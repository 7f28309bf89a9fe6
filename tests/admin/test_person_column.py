"""Inbound messages and consent records name their person in the admin's lists, linked to the
person's page, instead of a type and an id; a page of rows reads its people in one query per type."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import (
    CaregiverFactory,
    ConsentRecordFactory,
    InboundMessageFactory,
    PatientFactory,
)


@pytest.fixture
def staff(client, org_a_admin):
    client.force_login(org_a_admin)
    return client


def test_inbound_messages_name_who_replied_and_on_which_gateway(staff, org_a):
    patient = PatientFactory(organization=org_a, first_name="Amara", last_name="Okoye")
    caregiver = CaregiverFactory(organization=org_a, first_name="Kofi", last_name="Mensah")
    InboundMessageFactory(organization=org_a, entity_type="patient", entity_id=patient.pk, gateway__name="Clinic SIM")
    InboundMessageFactory(organization=org_a, entity_type="caregiver", entity_id=caregiver.pk)
    InboundMessageFactory(organization=org_a, gateway=None, gateway_label="dhis2-modem-7")

    html = staff.get("/admin/messaging/inboundmessage/").content.decode()

    assert f'href="/admin/entities/patient/{patient.pk}/change/">Amara Okoye</a>' in html
    assert f'href="/admin/entities/caregiver/{caregiver.pk}/change/">Kofi Mensah</a>' in html
    assert "Clinic SIM" in html and "dhis2-modem-7" in html


def test_consent_records_name_their_person_and_say_when_the_person_is_gone(staff, org_a):
    kept = ConsentRecordFactory(organization=org_a)
    gone = ConsentRecordFactory(organization=org_a)
    person = PatientFactory._meta.model.objects.get(pk=kept.entity_id)
    PatientFactory._meta.model.objects.filter(pk=gone.entity_id).delete()

    html = staff.get("/admin/entities/consentrecord/").content.decode()

    assert f'href="/admin/entities/patient/{person.pk}/change/">{person.full_name}</a>' in html
    assert "no longer on record" in html


def test_a_person_of_another_organization_is_never_named(staff, org_a, org_b):
    theirs = PatientFactory(organization=org_b, first_name="Other", last_name="Person")
    # A row of A that (by a bug or a forged import) points at B's patient.
    InboundMessageFactory(organization=org_a, entity_type="patient", entity_id=theirs.pk)

    html = staff.get("/admin/messaging/inboundmessage/").content.decode()

    assert "Other Person" not in html and str(theirs.pk) not in html


def test_a_page_of_replies_reads_its_people_in_one_query_per_type(staff, org_a):
    def page_queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff.get("/admin/messaging/inboundmessage/").status_code == 200
        return len(captured)

    for _ in range(2):
        InboundMessageFactory(
            organization=org_a, entity_type="patient", entity_id=PatientFactory(organization=org_a).pk
        )
    few = page_queries()
    for _ in range(8):
        InboundMessageFactory(
            organization=org_a, entity_type="patient", entity_id=PatientFactory(organization=org_a).pk
        )

    assert page_queries() == few
