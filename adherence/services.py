"""Adherence logic: materialize dose slots, send reminders once, record confirmations, detect misses.

Every state change of a slot is one conditional UPDATE (`WHERE status = <expected>`): whichever
beat, worker or request gets the row count 1 owns the transition; the others do nothing.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from adherence.follow_up import missed_streak_check
from adherence.models import DoseConfirmation, DoseSlot, MedicationSchedule
from adherence.schedule import doses_between, reply_confirms
from messaging import live
from messaging.exceptions import MessageRejected, NoGatewayConfigured
from messaging.message_templates import TemplateKind, render, template_render
from messaging.services.outbound import messages_queue

logger = logging.getLogger(__name__)
Status = DoseSlot.Status

MATERIALIZE_HORIZON = timedelta(hours=48)
# A confirmation after the window closed still counts (as late) for this long after the dose time.
LATE_LIMIT = timedelta(hours=12)
BATCH = 500


# --- schedules -------------------------------------------------------------------------------


@transaction.atomic
def schedule_save(*, schedule: MedicationSchedule, now: datetime | None = None) -> MedicationSchedule:
    """Validate and save a schedule, then bring its future slots in line with it."""
    schedule.full_clean()
    schedule.save()
    slots_resync(schedule=schedule, now=now)
    return schedule


@transaction.atomic
def schedule_set_active(*, schedule: MedicationSchedule, active: bool) -> None:
    """Pause (no more reminders) or resume a schedule."""
    schedule.active = active
    schedule.save(update_fields=["active", "updated_at"])
    slots_resync(schedule=schedule)


def slots_resync(*, schedule: MedicationSchedule, now: datetime | None = None) -> None:
    """Drop future slots that no longer match (nothing was sent for them) and create the new ones."""
    now = now or timezone.now()
    DoseSlot.objects.filter(schedule=schedule, status=Status.SCHEDULED, scheduled_at__gt=now).delete()
    if schedule.active:
        slots_materialize(now=now, schedules=[schedule], since=now)


def slots_materialize(*, now: datetime | None = None, schedules=None, since: datetime | None = None) -> int:
    """Create the slots of the next 48 hours (idempotent: the unique slot key ignores repeats)."""
    now = now or timezone.now()
    start = since or now - timedelta(hours=2)
    end = now + MATERIALIZE_HORIZON
    if schedules is None:
        schedules = MedicationSchedule.objects.filter(active=True).only(
            "id",
            "organization_id",
            "patient_id",
            "dose_times",
            "days_of_week",
            "start_date",
            "end_date",
            "timezone",
            "response_window_minutes",
        )
    rows = []
    for schedule in schedules.iterator(chunk_size=1000) if hasattr(schedules, "iterator") else schedules:
        for dose in doses_between(schedule, start, end):
            rows.append(
                DoseSlot(
                    organization_id=schedule.organization_id,
                    schedule_id=schedule.id,
                    patient_id=schedule.patient_id,
                    local_date=dose.local_date,
                    local_time=dose.local_time,
                    scheduled_at=dose.scheduled_at,
                    window_closes_at=dose.window_closes_at,
                )
            )
    DoseSlot.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return len(rows)


# --- reminders -------------------------------------------------------------------------------


def reminder_text(slot: DoseSlot) -> str:
    """Rendered now, in the patient's current locale: a locale changed since the schedule was saved
    applies to this reminder (messaging.message_templates)."""
    patient, schedule = slot.patient, slot.schedule
    return template_render(
        slot.organization,
        TemplateKind.REMINDER,
        patient.locale,
        overrides=schedule.reminder_texts,
        first_name=patient.first_name,
        last_name=patient.last_name,
        medication=schedule.medication,
        dose_time=slot.local_time.strftime("%H:%M"),
    )


def schedule_text_previews(schedule: MedicationSchedule) -> list[dict]:
    """Every language the schedule's patients can get, as it would be sent: the schedule's own
    reminder texts and the organization's templates (reminder, caregiver), each filled with this
    schedule's values, with its encoding and segment count (the schedule form shows them)."""
    from adherence.schedule import schedule_sample_values
    from messaging.message_templates import DEFAULT_TEXTS, organization_texts, template_preview

    values = schedule_sample_values(schedule)
    rows = []
    own = schedule.reminder_texts if isinstance(schedule.reminder_texts, dict) else {}
    org_reminders = organization_texts(schedule.organization, TemplateKind.REMINDER)
    for locale, text in sorted(own.items()):
        rows.append({"kind": "reminder", "locale": locale, "source": "this schedule", "text": text})
    for locale, text in sorted(org_reminders.items()):
        if locale not in own:
            rows.append({"kind": "reminder", "locale": locale, "source": "organization", "text": text})
    if not own and not org_reminders:
        rows.append(
            {"kind": "reminder", "locale": "en", "source": "built-in", "text": DEFAULT_TEXTS[TemplateKind.REMINDER]}
        )
    if schedule.caregiver_alert_text:
        rows.append(
            {"kind": "caregiver", "locale": "all", "source": "this schedule", "text": schedule.caregiver_alert_text}
        )
    else:
        org_caregiver = organization_texts(schedule.organization, TemplateKind.CAREGIVER) or {
            "en": DEFAULT_TEXTS[TemplateKind.CAREGIVER]
        }
        for locale, text in sorted(org_caregiver.items()):
            rows.append({"kind": "caregiver", "locale": locale, "source": "organization", "text": text})
    for row in rows:
        row.update(template_preview(row["kind"], row["text"], **values))
    return rows


def reminders_send_due(*, now: datetime | None = None) -> int:
    """Send the reminder of every due slot whose window is still open. Returns how many were sent."""
    now = now or timezone.now()
    due = list(
        DoseSlot.objects.filter(status=Status.SCHEDULED, scheduled_at__lte=now, window_closes_at__gt=now)
        .select_related("patient", "schedule", "organization")
        .order_by("scheduled_at")[:BATCH]
    )
    sent = 0
    for slot in due:
        if reminder_send(slot=slot, now=now, scheduled=True):
            sent += 1
    return sent


def reminder_valid_until(slot: DoseSlot, *, now: datetime, scheduled: bool) -> datetime | None:
    """A scheduled reminder: the dose time + the reminder validity, as far from the clock as from the
    scheduler's `now` (the same instant in production). One a person sends now: from now."""
    seconds = settings.SMSPORTAL_VALIDITY_SECONDS.get("schedule", 0)
    if not seconds:
        return None
    anchor = slot.scheduled_at if scheduled else now
    return timezone.now() + (anchor + timedelta(seconds=seconds) - now)


def reminder_send(*, slot: DoseSlot, now: datetime | None = None, scheduled: bool = False) -> bool:
    """Claim the slot and queue its reminder in one transaction; False when someone else has it.

    `scheduled` (the beat's run): valid until 2 h (settings) after the dose; else (a person's "send
    now") for that long from now."""
    now = now or timezone.now()
    if not slot.patient.phone or not slot.schedule.active:
        return False
    try:
        with transaction.atomic():
            claimed = DoseSlot.objects.filter(pk=slot.pk, status=Status.SCHEDULED).update(
                status=Status.REMINDED, reminded_at=now
            )
            if not claimed:
                return False
            result = messages_queue(
                organization=slot.organization,
                recipients=[str(slot.patient.phone)],
                body=reminder_text(slot),
                source="schedule",
                # A reminder is worthless long after its dose: expired rather than sent late.
                valid_until=reminder_valid_until(slot, now=now, scheduled=scheduled),
            )
            reminder = result.messages[0] if result.messages else None
            DoseSlot.objects.filter(pk=slot.pk).update(reminder=reminder)
            _publish_on_commit(slot, "dose.reminded")
    except (MessageRejected, NoGatewayConfigured) as exc:
        # The claim rolled back with the transaction: the next tick tries again while the window is open.
        logger.warning("reminder not queued", extra={"slot": slot.pk, "reason": str(exc)})
        return False
    return True


# --- confirmations ---------------------------------------------------------------------------


def dose_early_grace() -> timedelta:
    return timedelta(minutes=settings.SMSPORTAL_DOSE_EARLY_MINUTES)


def dose_reply_record(
    *,
    organization,
    patient,
    text: str,
    received_at: datetime | None = None,
    reminder_message_id=None,
    inbound_message=None,
) -> DoseConfirmation | None:
    """Record a confirming reply against the dose it answers; None when it confirms nothing.

    The dose is the one whose reminder is `reminder_message_id` (BioT's inboundMessageId: the
    last SMS sent to the number), else the oldest open slot, else the most recent missed one
    (within LATE_LIMIT of its dose time), among the patient's schedules that accept this reply.
    """
    received_at = received_at or timezone.now()
    schedules = [
        s
        for s in MedicationSchedule.objects.filter(organization=organization, patient=patient)
        if reply_confirms(text, s.confirm_replies)
    ]
    if not schedules:
        return None
    # Only an open dose: its time is at most the early grace away (a reminder sent hours ahead does
    # not make a reply then count as taken).
    slots = DoseSlot.objects.filter(
        organization=organization,
        patient=patient,
        schedule__in=schedules,
        reminder__isnull=False,
        scheduled_at__lte=received_at + dose_early_grace(),
    )
    candidates = []
    if reminder_message_id:
        candidates += list(slots.filter(reminder_id=reminder_message_id, status__in=[Status.REMINDED, Status.MISSED]))
    candidates += list(slots.filter(status=Status.REMINDED).order_by("scheduled_at"))
    candidates += list(
        slots.filter(status=Status.MISSED, scheduled_at__gte=received_at - LATE_LIMIT).order_by("-scheduled_at")
    )
    for slot in candidates:
        confirmation = _slot_confirm(slot=slot, text=text, received_at=received_at, inbound_message=inbound_message)
        if confirmation is not None:
            return confirmation
    return None


def _slot_confirm(*, slot: DoseSlot, text: str, received_at: datetime, inbound_message) -> DoseConfirmation | None:
    on_time = slot.status == Status.REMINDED and received_at <= slot.window_closes_at
    new_status = Status.TAKEN if on_time else Status.LATE
    try:
        with transaction.atomic():
            if not DoseSlot.objects.filter(pk=slot.pk, status=slot.status).update(status=new_status):
                return None
            confirmation = DoseConfirmation.objects.create(
                organization_id=slot.organization_id,
                slot=slot,
                patient_id=slot.patient_id,
                inbound_message=inbound_message,
                reply=(text or "")[:200],
                received_at=received_at,
                on_time=on_time,
            )
            slot.status = new_status
            _publish_on_commit(slot, "dose.confirmed", on_time=on_time)
    except IntegrityError:
        return None  # confirmed concurrently by a duplicate delivery
    return confirmation


# --- missed doses ----------------------------------------------------------------------------


def slots_close_missed(*, now: datetime | None = None) -> int:
    """Mark open slots whose window closed as missed and alert caregivers when the schedule says so."""
    now = now or timezone.now()
    due = list(
        DoseSlot.objects.filter(status__in=DoseSlot.OPEN, window_closes_at__lte=now)
        .select_related("patient", "schedule", "organization")
        .order_by("window_closes_at")[:BATCH]
    )
    missed = 0
    for slot in due:
        with transaction.atomic():
            if not DoseSlot.objects.filter(pk=slot.pk, status=slot.status).update(status=Status.MISSED, missed_at=now):
                continue
            missed += 1
            slot.status = Status.MISSED
            _publish_on_commit(slot, "dose.missed")
            if slot.schedule.alert_caregivers and slot.reminder_id:
                caregivers_alert(slot=slot, now=now)
            missed_streak_check(slot=slot, now=now)
    return missed


def caregivers_alert(*, slot: DoseSlot, now: datetime | None = None) -> int:
    """One SMS per caregiver with a phone number (held during the organization's quiet hours)."""
    patient, schedule = slot.patient, slot.schedule
    count = 0
    values = {
        "patient_first_name": patient.first_name,
        "patient_last_name": patient.last_name,
        "medication": schedule.medication,
        "dose_time": slot.local_time.strftime("%H:%M"),
        "time": slot.local_time.strftime("%H:%M"),
        "organization": slot.organization.name,
    }
    for caregiver in patient.caregivers.exclude(phone=""):
        if schedule.caregiver_alert_text:  # the schedule's own text, whatever the caregiver's language
            body = render(schedule.caregiver_alert_text, first_name=caregiver.first_name, **values)
        else:
            body = template_render(
                slot.organization, TemplateKind.CAREGIVER, caregiver.locale, first_name=caregiver.first_name, **values
            )
        try:
            # A system message, but not urgent: held in quiet hours like the organization's own sends.
            messages_queue(
                organization=slot.organization,
                recipients=[str(caregiver.phone)],
                body=body,
                source="system",
                not_before=slot.organization.quiet_hours_release(now),
            )
            count += 1
        except (MessageRejected, NoGatewayConfigured) as exc:
            logger.warning("caregiver alert not queued", extra={"slot": slot.pk, "reason": str(exc)})
    DoseSlot.objects.filter(pk=slot.pk).update(caregivers_alerted_at=now or timezone.now())
    return count


# --- live events -----------------------------------------------------------------------------


def _publish_on_commit(slot: DoseSlot, event: str, **extra) -> None:
    data = {
        "slotId": slot.pk,
        "patientId": str(slot.patient_id),
        "entityId": str(slot.patient_id),
        "scheduleId": str(slot.schedule_id),
        "status": slot.status,
        **extra,
    }
    org_id = slot.organization_id
    transaction.on_commit(lambda: live.publish(organization_id=org_id, event=event, data=data))
