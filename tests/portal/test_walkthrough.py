"""Rough edges a new user's walkthrough found on the portal pages."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from adherence.models import DoseSlot, MedicationSchedule
from adherence.schedule import local_to_utc, zone
from adherence.services import dose_reply_record, reminder_send, schedule_save

pytestmark = pytest.mark.django_db


def _dose_at(schedule, at):
    tz = zone(schedule.timezone)
    local = at.astimezone(tz).replace(second=0, microsecond=0)
    scheduled = local_to_utc(local.date(), local.time(), tz)
    return DoseSlot.objects.create(
        organization=schedule.organization, schedule=schedule, patient=schedule.patient,
        local_date=local.date(), local_time=local.time(), scheduled_at=scheduled,
        window_closes_at=scheduled + timedelta(minutes=schedule.response_window_minutes),
    )  # fmt: skip


@pytest.fixture
def evening_schedule(organization, patient):
    return schedule_save(
        schedule=MedicationSchedule(
            organization=organization, patient=patient, medication="Aspirin", dose_times=["20:00"],
            start_date=date(2020, 1, 1), timezone="UTC",
        )
    )  # fmt: skip


def test_a_dose_confirmed_before_its_time_is_among_the_recent_doses(staff, patient, evening_schedule):
    early = _dose_at(evening_schedule, timezone.now() + timedelta(minutes=30))
    later = _dose_at(evening_schedule, timezone.now() + timedelta(days=1))
    assert reminder_send(slot=early)  # "Send reminder now", half an hour ahead
    dose_reply_record(organization=patient.organization, patient=patient, text="1")

    page = staff.get(f"/portal/patients/{patient.pk}/").context

    recent = list(page["recent"])
    assert early in recent and recent[0].status == "taken"
    assert later not in recent  # nothing happened to it yet
