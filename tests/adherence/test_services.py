"""Reminders once per dose slot, confirmations on time / late, missed doses and caregiver alerts."""

from datetime import UTC, datetime, time, timedelta

import pytest
from django.utils import timezone

from adherence.models import DoseConfirmation, DoseSlot
from adherence.services import (
    dose_reply_record,
    reminder_send,
    reminders_send_due,
    slots_close_missed,
    slots_materialize,
)
from gateways.providers.simulator import SimulatorAdapter
from messaging.models import OutboundMessage
from messaging.services.outbound import messages_queue
from tests.adherence.conftest import NOW
from tests.concurrency import run_concurrently

pytestmark = pytest.mark.django_db(transaction=True)
DOSE = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def slot_of(schedule, when=DOSE):
    return DoseSlot.objects.get(schedule=schedule, scheduled_at=when)


def test_saving_a_schedule_creates_the_next_two_days_of_slots(med_schedule):
    assert list(DoseSlot.objects.filter(schedule=med_schedule).values_list("scheduled_at", flat=True)) == [
        DOSE,
        DOSE + timedelta(days=1),
    ]
    assert slot_of(med_schedule).local_time == time(8)


def test_materializing_again_creates_nothing_new(med_schedule):
    slots_materialize(now=NOW)
    slots_materialize(now=NOW)

    assert DoseSlot.objects.filter(schedule=med_schedule).count() == 2


def test_nothing_is_sent_before_the_dose_time(med_schedule):
    assert reminders_send_due(now=DOSE - timedelta(minutes=1)) == 0
    assert SimulatorAdapter.outbox == []


def test_a_due_reminder_is_sent_once_in_the_patients_language(med_schedule, patient):
    patient.locale = "es-mx"
    patient.save()

    assert reminders_send_due(now=DOSE + timedelta(seconds=5)) == 1
    assert reminders_send_due(now=DOSE + timedelta(seconds=35)) == 0

    slot = slot_of(med_schedule)
    assert slot.status == "reminded" and slot.reminder is not None
    assert [(m.to, m.text) for m in SimulatorAdapter.outbox] == [("+12025550111", "Hola Ana")]
    assert slot.reminder.source == "schedule" and slot.reminder.status == "sent"


def test_a_reminder_is_still_sent_after_a_restart_within_the_window_but_not_after(med_schedule):
    assert reminders_send_due(now=DOSE + timedelta(minutes=59)) == 1
    tomorrow = DOSE + timedelta(days=1)
    assert reminders_send_due(now=tomorrow + timedelta(minutes=61)) == 0
    assert slot_of(med_schedule, tomorrow).reminder_id is None
    assert len(SimulatorAdapter.outbox) == 1


def test_concurrent_beats_send_each_reminder_once(require_postgres, organization, gateway, med_schedule):
    run_concurrently(lambda _: reminders_send_due(now=DOSE + timedelta(seconds=1)), 4)

    assert OutboundMessage.objects.filter(source="schedule").count() == 1
    assert len(SimulatorAdapter.outbox) == 1


def test_reply_linked_by_inbound_message_id_confirms_on_time(med_schedule, patient, organization):
    reminders_send_due(now=DOSE)
    slot = slot_of(med_schedule)

    confirmation = dose_reply_record(
        organization=organization,
        patient=patient,
        text=" medication TAKEN ",
        received_at=DOSE + timedelta(minutes=20),
        reminder_message_id=slot.reminder_id,
    )

    assert confirmation.slot == slot and confirmation.on_time
    assert slot_of(med_schedule).status == "taken"


def test_a_second_confirming_reply_records_nothing_more(med_schedule, patient, organization):
    reminders_send_due(now=DOSE)
    first = dose_reply_record(organization=organization, patient=patient, text="1", received_at=DOSE)

    second = dose_reply_record(organization=organization, patient=patient, text="1", received_at=DOSE)

    assert first is not None and second is None
    assert DoseConfirmation.objects.count() == 1


def test_a_reply_that_does_not_confirm_stays_a_conversation(med_schedule, patient, organization):
    reminders_send_due(now=DOSE)

    assert dose_reply_record(organization=organization, patient=patient, text="what pill?", received_at=DOSE) is None
    assert slot_of(med_schedule).status == "reminded"


def test_no_reply_in_the_window_is_missed_and_caregivers_are_told(med_schedule, caregiver):
    reminders_send_due(now=DOSE)
    SimulatorAdapter.outbox.clear()

    assert slots_close_missed(now=DOSE + timedelta(minutes=59)) == 0
    assert slots_close_missed(now=DOSE + timedelta(minutes=60)) == 1
    assert slots_close_missed(now=DOSE + timedelta(minutes=61)) == 0

    slot = slot_of(med_schedule)
    assert slot.status == "missed" and slot.caregivers_alerted_at is not None
    assert [(m.to, m.text) for m in SimulatorAdapter.outbox] == [
        ("+12025550112", "Ana has not confirmed taking Metformin due at 08:00.")
    ]


def test_no_caregiver_alert_when_the_schedule_says_so(med_schedule, caregiver):
    med_schedule.alert_caregivers = False
    med_schedule.save()
    reminders_send_due(now=DOSE)
    SimulatorAdapter.outbox.clear()

    slots_close_missed(now=DOSE + timedelta(hours=2))

    assert slot_of(med_schedule).status == "missed" and SimulatorAdapter.outbox == []


def test_a_confirmation_after_the_window_is_late(med_schedule, patient, organization):
    reminders_send_due(now=DOSE)
    slots_close_missed(now=DOSE + timedelta(minutes=61))

    confirmation = dose_reply_record(
        organization=organization, patient=patient, text="1", received_at=DOSE + timedelta(minutes=90)
    )

    assert confirmation is not None and confirmation.on_time is False
    assert slot_of(med_schedule).status == "late"


def test_reply_before_missed_detection_ran_but_after_the_window_is_late(med_schedule, patient, organization):
    reminders_send_due(now=DOSE)

    confirmation = dose_reply_record(
        organization=organization, patient=patient, text="1", received_at=DOSE + timedelta(minutes=65)
    )

    assert confirmation.on_time is False and slot_of(med_schedule).status == "late"


def test_slot_never_reminded_is_missed_without_alerting_caregivers(med_schedule, caregiver):
    assert slots_close_missed(now=DOSE + timedelta(hours=2)) == 1
    assert slot_of(med_schedule).status == "missed" and SimulatorAdapter.outbox == []


def test_quiet_hours_end_in_the_organizations_zone(organization):
    organization.timezone = "America/New_York"
    organization.quiet_hours_start, organization.quiet_hours_end = time(21), time(7)

    night = datetime(2026, 6, 2, 3, 0, tzinfo=UTC)  # 23:00 in New York
    early = datetime(2026, 6, 2, 10, 0, tzinfo=UTC)  # 06:00
    day = datetime(2026, 6, 2, 15, 0, tzinfo=UTC)  # 11:00

    assert organization.quiet_hours_release(night) == datetime(2026, 6, 2, 11, tzinfo=UTC)
    assert organization.quiet_hours_release(early) == datetime(2026, 6, 2, 11, tzinfo=UTC)
    assert organization.quiet_hours_release(day) is None


def test_quiet_hours_hold_other_messages_until_they_end(organization, gateway):
    now = timezone.now()
    organization.quiet_hours_start = (now - timedelta(hours=1)).time()
    organization.quiet_hours_end = (now + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    organization.save()

    result = messages_queue(organization=organization, recipients=["+12025550113"], body="News", source="portal")

    message = OutboundMessage.objects.get(pk=result.messages[0].pk)
    assert message.status == "queued" and message.next_attempt_at > now
    assert SimulatorAdapter.outbox == []


def test_embedded_beat_runs_only_under_the_dev_server_in_eager_mode(monkeypatch, settings):
    from adherence import embedded

    monkeypatch.delenv("SMSPORTAL_EMBEDDED_BEAT", raising=False)
    monkeypatch.delenv("RUN_MAIN", raising=False)
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert not embedded.should_start()  # tests, migrate, shell …
    monkeypatch.setenv("RUN_MAIN", "true")
    assert embedded.should_start()  # `runserver` (make run)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert not embedded.should_start()  # a broker is configured: celery beat does it
    monkeypatch.setenv("SMSPORTAL_EMBEDDED_BEAT", "0")
    settings.CELERY_TASK_ALWAYS_EAGER = True
    assert not embedded.should_start()


def test_reminders_follow_the_local_time_across_a_dst_change(organization, patient, gateway):
    from datetime import date

    from adherence.models import MedicationSchedule
    from adherence.services import schedule_save

    before = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    schedule = schedule_save(
        schedule=MedicationSchedule(
            organization=organization, patient=patient, medication="Metformin", dose_times=["08:00"],
            start_date=date(2026, 3, 1), timezone="America/New_York",
        ),
        now=before,
    )  # fmt: skip
    slots_materialize(now=before + timedelta(days=1))

    assert reminders_send_due(now=datetime(2026, 3, 7, 13, 0, 5, tzinfo=UTC)) == 1  # 08:00 EST
    assert reminders_send_due(now=datetime(2026, 3, 8, 11, 59, tzinfo=UTC)) == 0
    assert reminders_send_due(now=datetime(2026, 3, 8, 12, 0, 5, tzinfo=UTC)) == 1  # 08:00 EDT
    assert list(schedule.slots.filter(status="reminded").values_list("local_date", flat=True)) == [
        datetime(2026, 3, 7).date(),
        datetime(2026, 3, 8).date(),
    ]


def test_caregiver_alert_for_a_dose_missed_at_night_waits_for_quiet_hours_to_end(med_schedule, caregiver, organization):
    now = timezone.now()
    organization.quiet_hours_start = (now - timedelta(hours=1)).time()
    organization.quiet_hours_end = (now + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    organization.save()
    slot = slot_of(med_schedule)
    DoseSlot.objects.filter(pk=slot.pk).update(
        scheduled_at=now - timedelta(minutes=90), window_closes_at=now - timedelta(minutes=30)
    )
    DoseSlot.objects.filter(pk=slot.pk).update(status="reminded")  # the reminder itself is never held
    DoseSlot.objects.filter(pk=slot.pk).update(reminder=OutboundMessage.objects.create(
        organization=organization, recipient="+12025550111", body="reminder", source="schedule", status="sent"
    ))  # fmt: skip

    assert slots_close_missed(now=now) == 2  # this one, and tomorrow's June slot that was never reminded

    alert = OutboundMessage.objects.get(recipient="+12025550112")
    assert alert.status == "queued" and alert.next_attempt_at > now and alert.source == "system"
    assert SimulatorAdapter.outbox == []


def test_a_reply_hours_before_the_dose_confirms_nothing_but_one_within_the_grace_does(
    organization, patient, med_schedule, settings
):
    settings.SMSPORTAL_DOSE_EARLY_MINUTES = 60
    slot = DoseSlot.objects.filter(schedule=med_schedule).order_by("scheduled_at").first()
    # Reminded early (a staff member pressed "Send reminder now" at night).
    reminder_send(slot=slot, now=slot.scheduled_at - timedelta(hours=6, minutes=7))

    early = dose_reply_record(
        organization=organization, patient=patient, text="1", received_at=slot.scheduled_at - timedelta(hours=6)
    )

    slot.refresh_from_db()
    assert early is None and slot.status == "reminded"  # stays a conversation message
    near = dose_reply_record(
        organization=organization, patient=patient, text="1", received_at=slot.scheduled_at - timedelta(minutes=30)
    )
    slot.refresh_from_db()
    assert near is not None and near.on_time and slot.status == "taken"


def test_a_reminder_is_valid_until_two_hours_after_its_dose(organization, gateway, med_schedule):
    before = timezone.now()
    reminders_send_due(now=DOSE + timedelta(minutes=1))

    # The scheduler ran a minute after the dose: the reminder stays valid for 1 h 59 min more.
    left = OutboundMessage.objects.get(source="schedule").valid_until - before
    assert timedelta(hours=1, minutes=58) < left <= timedelta(hours=1, minutes=59, seconds=1)
