"""Demo data for `make run` (`manage.py seed_demo`): medication schedules for the demo patients,
three weeks of dose history and the built-in medication plugin."""

from datetime import datetime, timedelta

from django.utils import timezone

from adherence.models import DoseConfirmation, DoseSlot, MedicationSchedule
from adherence.plugin import plugin_install
from adherence.schedule import local_to_utc, parse_dose_time, zone
from adherence.services import schedule_save
from entities.models import Patient

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
    demo_history_seed(organization=organization, now=now)
    demo_today_seed(organization=organization, now=now)
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
    today = DoseSlot.objects.filter(schedule=schedule, local_date=now.astimezone(tz).date())
    wanted = []
    if not today.filter(status=Status.TAKEN).exists():
        wanted.append((now - timedelta(hours=1), Status.TAKEN))
    if not today.filter(status=Status.MISSED).exists():
        wanted.append((now - window - timedelta(minutes=30), Status.MISSED))
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
    """Past doses for the demo schedules, so a fresh `make run` has an Adherence page to look at.

    Idempotent: a schedule that already has a dose before today is left alone. The pattern is
    fixed (mostly on time, some late, a few missed), differing per patient.
    """
    now = now or timezone.now()
    created = 0
    schedules = MedicationSchedule.objects.filter(organization=organization, medication="Metformin 500 mg")
    for n, schedule in enumerate(schedules.select_related("patient").order_by("created_at")):
        tz = zone(schedule.timezone or "UTC")
        today = now.astimezone(tz).date()
        if DoseSlot.objects.filter(schedule=schedule, local_date__lt=today).exists():
            continue
        first_day = today - timedelta(days=days)
        if schedule.start_date > first_day:
            MedicationSchedule.objects.filter(pk=schedule.pk).update(start_date=first_day)
        window = timedelta(minutes=schedule.response_window_minutes)
        slots, outcomes = [], []
        for d in range(days, 0, -1):
            day = today - timedelta(days=d)
            for k, raw in enumerate(schedule.dose_times):
                at = parse_dose_time(raw)
                scheduled = local_to_utc(day, at, tz)
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
        DoseSlot.objects.bulk_create(slots, ignore_conflicts=True)
        saved = {
            (s.local_date, s.local_time): s for s in DoseSlot.objects.filter(schedule=schedule, local_date__lt=today)
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
