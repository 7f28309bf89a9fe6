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


def test_the_next_reminder_names_every_dose_due_then_and_the_embedded_mode(staff, organization, settings):
    from tests.factories import PatientFactory

    at = timezone.now() + timedelta(hours=2)
    for first in ("Ana", "Ben", "Cy", "Dee"):
        person = PatientFactory(organization=organization, first_name=first, last_name="Test", phone="")
        _dose_at(_schedule(organization, person), at)
    settings.CELERY_TASK_ALWAYS_EAGER = True

    page = staff.get("/portal/").content.decode()

    assert "Next reminders: <b>" in page and "4 doses</span>" in page
    assert "Ana Test (Aspirin), Ben Test (Aspirin), Cy Test (Aspirin) and 1 more" in page
    assert "while this server runs" in page and "worker and beat run" not in page

    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert "while the Celery worker and beat run" in staff.get("/portal/").content.decode()


def test_a_next_reminder_on_another_day_says_which_day(staff, organization):
    from portal.templatetags.portal_format import when
    from tests.factories import PatientFactory

    person = PatientFactory(organization=organization, first_name="Ana", last_name="Test", phone="")
    slot = _dose_at(_schedule(organization, person), timezone.now() + timedelta(days=1, hours=1))

    page = staff.get("/portal/").content.decode()

    # Not "Next reminder: 21:26 (1 day, 1 hour from now)", which reads as today.
    with timezone.override(organization.zone()):
        assert f"Next reminder: <b>{when(slot.scheduled_at)}</b>" in page


def _schedule(organization, person):
    return MedicationSchedule.objects.create(
        organization=organization, patient=person, medication="Aspirin", dose_times=["20:00"],
        start_date=date(2020, 1, 1), timezone="UTC",
    )  # fmt: skip


def test_dates_are_written_one_way_in_the_organizations_time_zone(staff, organization, patient, evening_schedule):
    from portal.templatetags.portal_format import clock, day, when

    organization.timezone = "Asia/Kolkata"  # UTC+05:30
    organization.save()
    now = timezone.now()
    dose = _dose_at(evening_schedule, now - timedelta(hours=1))
    assert reminder_send(slot=dose)
    dose_reply_record(organization=organization, patient=patient, text="1")
    in_kolkata = dose.scheduled_at.astimezone(zone("Asia/Kolkata"))

    patient_page = staff.get(f"/portal/patients/{patient.pk}/").content.decode()
    thread = staff.get(f"/portal/conversations/patient/{patient.pk}/").content.decode()
    log = staff.get("/portal/messages/").content.decode()

    from django.utils.timezone import override

    with override(zone("Asia/Kolkata")):
        dose_written = when(dose.scheduled_at)
        assert dose_written == f"{in_kolkata:%a} {in_kolkata.day} {in_kolkata:%b %H:%M}"
        assert day(date(2001, 2, 3)) == "Sat 3 Feb 2001" and clock(dose.scheduled_at, "s").count(":") == 2
    assert dose_written in patient_page
    sent = dose.__class__.objects.get(pk=dose.pk).reminder
    with override(zone("Asia/Kolkata")):
        assert when(sent.created_at) in thread and when(sent.created_at, "s") in log


def test_adherence_labels_the_national_id_and_exports_on_time_as_yes_or_no(staff, organization, patient):
    import csv
    import io

    from adherence.models import DoseConfirmation

    patient.national_id = "NID-4711"
    patient.save()
    schedule = _schedule(organization, patient)
    for hours, on_time in ((30, True), (6, False)):
        dose = _dose_at(schedule, timezone.now() - timedelta(hours=hours))
        DoseSlot.objects.filter(pk=dose.pk).update(status="taken" if on_time else "late")
        DoseConfirmation.objects.create(
            organization=organization, slot=dose, patient=patient, reply="1", on_time=on_time,
            received_at=dose.scheduled_at + timedelta(minutes=5 if on_time else 300),
        )  # fmt: skip

    page = staff.get("/portal/adherence/").content.decode()
    today = timezone.now().date()
    export = staff.get(f"/portal/adherence/export.csv?from={today - timedelta(days=3)}&to={today}")

    assert "National ID NID-4711" in page
    assert 'aria-label="Search patients by name or national ID"' in page
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [row["on_time"] for row in rows] == ["yes", "no"]
