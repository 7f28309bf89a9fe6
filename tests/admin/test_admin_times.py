"""The admin writes times as the portal does (24-hour, day before month) and in the organization's
zone for its admin, and says which zone on every page."""

from datetime import UTC, datetime

import pytest

from messaging.models import OutboundMessage
from tests import factories

pytestmark = pytest.mark.django_db
SENT = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # 08:00 in New York (EST), on the hour


@pytest.fixture
def message(org_a):
    org_a.timezone = "America/New_York"
    org_a.save()
    sms = factories.OutboundMessageFactory(organization=org_a)
    OutboundMessage.objects.filter(pk=sms.pk).update(created_at=SENT)
    return sms


def test_an_organizations_admin_reads_its_times_in_its_zone_and_is_told_so(client, org_a_admin, message):
    client.force_login(org_a_admin)

    body = client.get("/admin/messaging/outboundmessage/").content.decode()

    assert "Mon 2 Mar 2026 08:00" in body  # not "March 2, 2026, 8 a.m.", not 13:00 UTC
    assert "Times in America/New_York" in body
    detail = client.get(f"/admin/messaging/outboundmessage/{message.pk}/change/").content.decode()
    assert "Times in America/New_York" in detail


def test_a_superuser_across_organizations_reads_utc_and_is_told_so(admin_client, message):
    body = admin_client.get("/admin/messaging/outboundmessage/").content.decode()

    assert "Mon 2 Mar 2026 13:00" in body
    assert "Times in UTC" in body


def test_a_superuser_who_picks_an_organization_on_the_overview_is_told_its_day_and_times_are_in_its_zone(
    admin_client, message, org_a
):
    body = admin_client.get(f"/admin/?organization={org_a.pk}").content.decode()

    assert "Times in UTC" in body  # the header: every other admin page
    assert "Today and its times in America/New_York." in body
    assert "Today and its times in" not in admin_client.get("/admin/").content.decode()  # all: UTC


def test_the_time_zone_is_chosen_from_the_list_of_zones(client, org_a_admin, org_a):
    client.force_login(org_a_admin)

    page = client.get(f"/admin/entities/organization/{org_a.pk}/change/")
    field = page.context["adminform"].form.fields["timezone"]
    choices = dict(field.widget.choices)

    assert choices["America/New_York"] == "America/New York" and "UTC" in choices
    assert 'name="timezone"' in page.content.decode() and "<select" in page.content.decode()


def test_a_persons_consent_panel_writes_its_times_as_the_admin_does(client, org_a_admin, org_a):
    from entities.consent import consent_record
    from entities.models import ConsentProgram, ConsentRecord, ConsentSource
    from entities.models_consent import Consent

    org_a.timezone = "America/New_York"
    org_a.save()
    patient = factories.PatientFactory(organization=org_a)
    program = ConsentProgram.objects.create(organization=org_a, slug="reminders", name="Reminders")
    record = consent_record(
        organization=org_a, person=patient, program=program, status="opted_in", source=ConsentSource.API
    )
    ConsentRecord.objects.filter(pk=record.pk).update(created_at=SENT)
    Consent.objects.filter(program=program).update(updated_at=SENT)
    client.force_login(org_a_admin)

    page = client.get(f"/admin/entities/patient/{patient.pk}/change/").content.decode()

    assert page.count("Mon 2 Mar 2026 08:00") == 2  # since, and the change's time
    assert "2026-03-02 13:00" not in page and "+00:00" not in page
