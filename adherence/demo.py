"""Demo data for `make run` (`manage.py seed_demo`): medication schedules for the demo patients,
three weeks of dose history with the messages behind it, a follow-up item, a consent program and
the built-in medication plugin."""

import uuid
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from adherence.follow_up import missed_streak_check
from adherence.models import DoseConfirmation, DoseSlot, MedicationSchedule
from adherence.plugin import plugin_install
from adherence.schedule import local_to_utc, parse_dose_time, zone
from adherence.services import reminder_text, schedule_save
from entities.consent import consent_record
from entities.models import Patient
from entities.models_consent import Consent, ConsentProgram, ConsentSource, ConsentStatus
from gateways.models import Gateway
from messaging.models import InboundMessage, OutboundMessage
from messaging.services.outbound_texts import outbound_text_id
from smsportal.text import text_info

Status = DoseSlot.Status


def demo_seed(*, organization, now: datetime | None = None) -> int:
    """Give every demo patient with a phone a twice-daily schedule (idempotent) and install the plugin."""
    now = now or timezone.now()
    created = 0
    for patient in Patient.objects.filter(organization=organization).exclude(phone=""):
        if MedicationSchedule.objects.filter(patient=patient).exists():
            continue
        schedule_save(
            schedule=MedicationSchedule(
                organization=organization,
                patient=patient,
                medication="Metformin 500 mg",
                dose_times=["08:00", "20:00"],
                start_date=now.astimezone(zone(organization.timezone or "UTC")).date(),
                timezone=organization.timezone or "UTC",
                reminder_texts={
                    "en": "Hi {first_name}, time for your {medication} ({time}). Reply 1 when you have taken it.",
                    "es": "Hola {first_name}, es hora de su {medication} ({time}). Responda 1 cuando la haya tomado.",
                    "fr": "Bonjour {first_name}, prenez votre {medication} ({time}). Répondez 1 une fois pris.",
                },
            ),
            now=now,
        )
        created += 1
    plugin_install(organization=organization)
    # Today's demo doses first: the history's settled doses of today would otherwise count as the
    # demo's "taken" and "missed" ones, and the loop's own would not be added.
    demo_today_seed(organization=organization, now=now)
    demo_history_seed(organization=organization, now=now)
    demo_messages_seed(organization=organization, now=now)
    demo_follow_up_seed(organization=organization, now=now)
    demo_consent_seed(organization=organization)
    return created


DEMO_DUE_IN = timedelta(minutes=5)
DEMO_DUE_SOON = timedelta(minutes=15)  # an open dose due by then already shows the loop


def demo_today_seed(*, organization, now: datetime | None = None) -> list[DoseSlot]:
    """Today's doses for the first demo patient, relative to now in the schedule's time zone, so the
    demo loop works at any hour: one taken an hour ago, one missed (its reply window closed), and
    one due in a few minutes — its "Send reminder now" is on the Today page at once.

    Run at every `make run` start: a missing kind is added, an open dose that is still due soon is
    kept (no pile-up of demo doses on restarts). Returns the slots it created.
    """
    now = now or timezone.now()
    schedule = (
        MedicationSchedule.objects.filter(organization=organization, medication="Metformin 500 mg")
        .select_related("patient")
        .order_by("created_at")
        .first()
    )
    if schedule is None:
        return []
    tz = zone(schedule.timezone or "UTC")
    window = timedelta(minutes=schedule.response_window_minutes)
    wanted = []
    for at, status in ((now - timedelta(hours=1), Status.TAKEN), (now - window - timedelta(minutes=30), Status.MISSED)):
        # Today's, or one of the last restart's: shortly after midnight the demo's dose is yesterday's.
        recent = Q(local_date=now.astimezone(tz).date()) | Q(scheduled_at__gte=at - timedelta(hours=1))
        if not DoseSlot.objects.filter(recent, schedule=schedule, status=status).exists():
            wanted.append((at, status))
    if not DoseSlot.objects.filter(
        schedule=schedule,
        status__in=DoseSlot.OPEN,
        window_closes_at__gt=now,
        scheduled_at__lte=now + DEMO_DUE_SOON,
    ).exists():
        wanted.append((now + DEMO_DUE_IN, Status.SCHEDULED))
    created = []
    for at, status in wanted:
        local = at.astimezone(tz).replace(second=0, microsecond=0)
        scheduled = local_to_utc(local.date(), local.time(), tz)
        slot, made = DoseSlot.objects.get_or_create(
            schedule=schedule,
            local_date=local.date(),
            local_time=local.time(),
            defaults={
                "organization": organization, "patient": schedule.patient, "scheduled_at": scheduled,
                "window_closes_at": scheduled + window, "status": status,
                "reminded_at": scheduled if status != Status.SCHEDULED else None,
                "missed_at": scheduled + window if status == Status.MISSED else None,
            },
        )  # fmt: skip
        if not made:
            continue
        created.append(slot)
        if status == Status.TAKEN:
            DoseConfirmation.objects.create(
                organization=organization, slot=slot, patient=schedule.patient, reply="1",
                received_at=scheduled + timedelta(minutes=4), on_time=True,
            )  # fmt: skip
    return created


DEMO_HISTORY_DAYS = 21


def demo_history_seed(*, organization, now: datetime | None = None, days: int = DEMO_HISTORY_DAYS) -> int:
    """Past doses for the demo schedules, so a fresh `make run` has an Adherence page to look at:
    the last `days` days and today's doses whose outcome is already settled (the 08:00 dose seen
    at noon), so Today shows every patient's morning, not only what is still to come.

    Idempotent: a schedule that already has a dose before yesterday is left alone. The pattern is
    fixed (mostly on time, some late, a few missed), differing per patient; the last patient missed
    their latest doses, enough in a row to be on the Follow up list (`demo_follow_up_seed`).
    """
    now = now or timezone.now()
    created = 0
    schedules = MedicationSchedule.objects.filter(organization=organization, medication="Metformin 500 mg")
    schedules = list(schedules.select_related("patient").order_by("created_at"))
    # The last demo patient (as the consent seed counts them) is the one who stopped taking doses.
    behind = max(
        schedules, key=lambda s: (s.patient.created_at, s.patient.national_id, str(s.patient_id)), default=None
    )
    for n, schedule in enumerate(schedules):
        tz = zone(schedule.timezone or "UTC")
        today = now.astimezone(tz).date()
        # Seeded already if a dose is older than yesterday: today's demo doses, seeded first, fall on
        # yesterday shortly after midnight.
        if DoseSlot.objects.filter(schedule=schedule, local_date__lt=today - timedelta(days=1)).exists():
            continue
        first_day = today - timedelta(days=days)
        if schedule.start_date > first_day:
            MedicationSchedule.objects.filter(pk=schedule.pk).update(start_date=first_day)
        window = timedelta(minutes=schedule.response_window_minutes)
        slots, outcomes = [], []
        for d in range(days, -1, -1):
            day = today - timedelta(days=d)
            for k, raw in enumerate(schedule.dose_times):
                at = parse_dose_time(raw)
                scheduled = local_to_utc(day, at, tz)
                if scheduled + 2 * window > now:
                    continue  # today's later doses: the schedule's own slots, still to come or open
                roll = (d * 7 + k * 3 + n * 5) % 10
                status = Status.TAKEN if roll < 7 else (Status.LATE if roll < 9 else Status.MISSED)
                slots.append(
                    DoseSlot(
                        organization=organization, schedule=schedule, patient=schedule.patient, local_date=day,
                        local_time=at, scheduled_at=scheduled, window_closes_at=scheduled + window, status=status,
                        reminded_at=scheduled, missed_at=scheduled + window if status == Status.MISSED else None,
                    )
                )  # fmt: skip
                outcomes.append((status, scheduled))
        if schedule is behind and len(schedules) > 1:
            for slot in slots[-schedule.follow_up_missed_doses :] if schedule.follow_up_missed_doses else []:
                slot.status, slot.missed_at = Status.MISSED, slot.window_closes_at
            outcomes = [(slot.status, slot.scheduled_at) for slot in slots]
        DoseSlot.objects.bulk_create(slots, ignore_conflicts=True)
        saved = {
            (s.local_date, s.local_time): s for s in DoseSlot.objects.filter(schedule=schedule, local_date__lte=today)
        }
        confirmations = []
        for slot, (status, scheduled) in zip(slots, outcomes, strict=True):
            stored = saved.get((slot.local_date, slot.local_time))
            if stored is None or status == Status.MISSED:
                continue
            confirmations.append(
                DoseConfirmation(
                    organization=organization, slot=stored, patient=schedule.patient, reply="1",
                    received_at=scheduled + (timedelta(minutes=9) if status == Status.TAKEN else window * 2),
                    on_time=status == Status.TAKEN,
                )
            )  # fmt: skip
        DoseConfirmation.objects.bulk_create(confirmations, ignore_conflicts=True)
        created += len(slots)
    return created


@transaction.atomic
def demo_messages_seed(*, organization, now: datetime | None = None) -> int:
    """The messages behind the demo's past doses: each reminded dose's reminder (delivered by the
    default gateway) and each confirmation's reply (routed to the patient), dated as the dose says,
    so the message log and the conversations tell what the Adherence page does.

    Idempotent: only a reminded dose without its reminder message gets one (and its confirmation
    the reply). Rows are written directly, as the pipeline would have left them: nothing is sent.
    """
    now = now or timezone.now()
    gateway = Gateway.objects.filter(organization=organization, is_default=True).first()
    slots = list(
        DoseSlot.objects.filter(
            organization=organization, schedule__medication="Metformin 500 mg", reminder__isnull=True,
            reminded_at__isnull=False, reminded_at__lte=now,
        ).select_related("patient", "schedule", "organization", "confirmation")
    )  # fmt: skip
    texts: dict = {}  # a schedule's dose time renders the same text (and text id) every day
    reminders, replies, confirmations = [], [], []
    for slot in slots:
        phone = str(slot.patient.phone or "")
        if not phone:
            continue
        key = (slot.schedule_id, slot.local_time)
        if key not in texts:
            body = reminder_text(slot)
            texts[key] = (body, outbound_text_id(organization_id=organization.pk, body=body))
        body, text_id = texts[key]
        info = text_info(body)
        sent = slot.reminded_at
        reminder = OutboundMessage(
            organization=organization, batch_id=uuid.uuid4(), recipient=phone, body=body, encoding=info.encoding,
            text_id=text_id, segments=info.segments, status=OutboundMessage.Status.DELIVERED, gateway=gateway,
            source="schedule",
            provider_message_id=f"demo-{uuid.uuid4().hex}", attempts=1, created_at=sent, updated_at=sent,
            sent_at=sent + timedelta(seconds=2), delivered_at=sent + timedelta(seconds=6),
        )  # fmt: skip
        reminders.append(reminder)
        slot.reminder = reminder
        confirmation = getattr(slot, "confirmation", None)
        if confirmation is None or confirmation.inbound_message_id:
            continue
        reply = InboundMessage(
            organization=organization, gateway=gateway, gateway_label=gateway.uid if gateway else "default",
            originator=phone, text=confirmation.reply, received_at=confirmation.received_at,
            provider_message_id=f"demo-{uuid.uuid4().hex}", status=InboundMessage.Status.PROCESSED,
            entity_type=slot.patient.entity_type, entity_id=slot.patient_id, in_reply_to=reminder,
            processed_at=confirmation.received_at,
        )  # fmt: skip
        replies.append(reply)
        confirmation.inbound_message = reply
        confirmations.append(confirmation)
    OutboundMessage.objects.bulk_create(reminders, batch_size=500)
    # auto_now(_add) stamped the rows (and the objects) now; they were sent at their doses' times.
    for reminder in reminders:
        reminder.created_at = reminder.updated_at = reminder.sent_at - timedelta(seconds=2)
    OutboundMessage.objects.bulk_update(reminders, ["created_at", "updated_at"], batch_size=500)
    InboundMessage.objects.bulk_create(replies, batch_size=500)
    DoseSlot.objects.bulk_update([s for s in slots if s.reminder is not None], ["reminder"], batch_size=500)
    DoseConfirmation.objects.bulk_update(confirmations, ["inbound_message"], batch_size=500)
    if gateway is not None and reminders:
        # The gateway sent them: its health says so (the overview's "not used yet" beside "delivered").
        latest = max(reminder.sent_at for reminder in reminders)
        Gateway.objects.filter(pk=gateway.pk).filter(
            Q(last_success_at__isnull=True) | Q(last_success_at__lt=latest)
        ).update(last_success_at=latest)
    return len(reminders) + len(replies)


def demo_follow_up_seed(*, organization, now: datetime | None = None):
    """Open the Follow up list's item for the demo patient whose latest doses were missed in a row,
    as the pipeline does when it marks the last of them missed. Idempotent: an open item is kept,
    and after staff close it those misses no longer count. Returns the item opened, or None."""
    last_missed = (
        DoseSlot.objects.filter(
            organization=organization, schedule__medication="Metformin 500 mg", status=Status.MISSED,
            window_closes_at__lte=now or timezone.now(),
        )
        .select_related("schedule", "patient__organization")
        .order_by("-scheduled_at")
    )  # fmt: skip
    opened = None
    for slot in last_missed[:10]:  # the latest misses of each patient are among the latest ten
        opened = missed_streak_check(slot=slot, now=now) or opened
    return opened


DEMO_PROGRAM = {
    "slug": "medication-reminders",
    "name": "Medication reminders",
    "keyword": "MEDS",
    "consent_text": "Dose reminders by SMS from Demo Org. Reply STOP MEDS to stop them, YES MEDS to start again.",
    "sources": ["schedule"],
}


@transaction.atomic
def demo_consent_seed(*, organization) -> ConsentProgram:
    """A consent program for the dose reminders, so the consent features have something to show:
    the first demo patients opted in at the clinic, the last one not asked yet. Consent is not
    required for sending, so the demo's reminders still go to everyone. Idempotent."""
    program, _ = ConsentProgram.objects.get_or_create(
        organization=organization, slug=DEMO_PROGRAM["slug"], defaults=DEMO_PROGRAM
    )
    patients = Patient.objects.filter(organization=organization).exclude(phone="")
    patients = list(patients.order_by("created_at", "national_id", "pk"))
    for patient in patients[:-1]:
        if not Consent.objects.filter(program=program, entity_type=patient.entity_type, entity_id=patient.pk).exists():
            consent_record(
                organization=organization, person=patient, program=program, status=ConsentStatus.OPTED_IN,
                source=ConsentSource.PORTAL, actor="demo data", text=program.consent_text,
                note="Agreed at the clinic (demo data).",
            )  # fmt: skip
    return program
