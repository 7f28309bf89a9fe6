"""Small things a user reads: empty adherence, telling people with one name apart."""

import re

import pytest

from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_empty_adherence_page_shows_dashes_not_zero_percent(staff, organization):
    page = staff.get("/portal/adherence/").content.decode()

    assert "no closed doses yet" in page and "tallest day" not in page
    assert "0.0%" not in page and "0%" not in page and "—" in page


def test_the_send_page_tells_two_people_with_one_name_apart(staff, organization, gateway):
    PatientFactory(organization=organization, first_name="Maria", last_name="Lopez", phone="+12025550131")
    PatientFactory(organization=organization, first_name="Maria", last_name="Lopez", phone="+12025550142")

    page = staff.get("/portal/send/").content.decode()

    assert "Maria Lopez · Patient · ••• 0131" in page and "Maria Lopez · Patient · ••• 0142" in page
    assert "+12025550131" not in page


def test_after_the_demo_seed_the_adherence_page_has_history(staff, organization, gateway, patient):
    from adherence.demo import demo_seed

    demo_seed(organization=organization)

    page = staff.get("/portal/adherence/").content.decode()
    # Two doses a day, and today the demo loop's own (taken, missed) beside the settled morning dose.
    assert "Ana Lopez" in page and re.search(r"tallest day [234] doses", page) and "no closed doses yet" not in page


def test_a_doses_time_is_in_the_pages_zone_with_the_patients_clock_when_it_differs(organization, patient):
    from datetime import UTC, date, datetime, time

    from django.utils import timezone

    from portal.templatetags.portal_format import dose_time
    from tests.factories import DoseSlotFactory, MedicationScheduleFactory

    schedule = MedicationScheduleFactory(organization=organization, patient=patient, timezone="UTC")
    slot = DoseSlotFactory(
        organization=organization, schedule=schedule, local_date=date(2026, 3, 2), local_time=time(13, 0),
        scheduled_at=datetime(2026, 3, 2, 13, 0, tzinfo=UTC),
    )  # fmt: skip

    with timezone.override("America/New_York"):  # the organization's zone, as staff_view sets it
        assert dose_time(slot) == '<b>08:00</b> <small class="muted">· 13:00 UTC for the patient</small>'
    with timezone.override("UTC"):
        assert dose_time(slot) == '<b>13:00</b> <small class="muted">UTC</small>'


def test_the_nav_names_the_staff_member_take_it_assigns_to(staff):
    from entities.models import OrganizationUser

    me = OrganizationUser.objects.get(user__username="nurse")

    page = staff.get("/portal/").content.decode()

    assert f'<span class="username" title="{me.full_name} (login nurse)">{me.full_name}</span>' in page
    assert f'aria-label="Log out {me.full_name}">Log out</button>' in page  # the action, apart from the name
