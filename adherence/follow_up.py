"""Follow-up items: open them where misses and silences are found; assign, record, close, reopen.

Opening is idempotent (one open item per patient and reason: the partial unique constraint
decides between concurrent openers). Misses are counted, and silence measured, only since the
last time staff closed an item of that reason: closing after a call does not put the patient
straight back on the list; the next misses do.
"""

import logging
import statistics
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.db.models.functions import Coalesce
from django.utils import timezone

from adherence.follow_up_models import FollowUp, FollowUpEvent
from adherence.models import DoseConfirmation, DoseSlot, MedicationSchedule
from entities.models import Patient
from messaging import live
from messaging.models import InboundMessage
from plugins.choices import PluginAction
from plugins.invocations import plugins_invoke_entity_event

logger = logging.getLogger(__name__)
Reason, Status, Kind = FollowUp.Reason, FollowUp.Status, FollowUpEvent.Kind
NOTE_MAX = 2000


class FollowUpError(ValueError):
    """A refused change: str() is "<field>: <problem>" (the API and the portal name the field)."""

    def __init__(self, field: str, problem: str):
        super().__init__(f"{field}: {problem}")
        self.field, self.problem = field, problem


# --- opening ---------------------------------------------------------------------------------


def follow_up_open(*, patient, reason: str, detail: dict, schedule=None, now: datetime | None = None):
    """Open an item for the patient unless one of that reason is open; None when it was."""
    now = now or timezone.now()
    if FollowUp.objects.filter(patient=patient, reason=reason, status=Status.OPEN).exists():
        return None
    try:
        with transaction.atomic():
            item = FollowUp.objects.create(
                organization_id=patient.organization_id,
                patient=patient,
                schedule=schedule,
                reason=reason,
                detail=detail,
                opened_at=now,
            )
            _event(item, Kind.OPENED, at=now)
            _publish_on_commit(item, "followup.opened")
            plugins_invoke_entity_event(
                organization=patient.organization,
                action=PluginAction.FOLLOW_UP_OPENED,
                entity=patient,
                event_key=f"{PluginAction.FOLLOW_UP_OPENED}:{item.pk}",
                start=now,
                additional={"followUp": follow_up_payload(item)},
            )
    except IntegrityError:
        return None  # opened concurrently: the constraint kept one
    logger.info("follow-up opened", extra={"follow_up": str(item.pk), "reason": reason})
    return item


def follow_up_payload(item: FollowUp) -> dict:
    """`data.additionalData.followUp` of `_followUpOpened` (docs/plugins.md)."""
    return {
        "id": str(item.pk),
        "reason": item.reason,
        "status": item.status,
        "openedAt": item.opened_at.isoformat(),
        "assignedToId": str(item.assigned_to_id) if item.assigned_to_id else None,
        "scheduleId": str(item.schedule_id) if item.schedule_id else None,
        "detail": item.detail,
    }


def _last_closed(patient_id, reason: str):
    return (
        FollowUp.objects.filter(patient_id=patient_id, reason=reason, status=Status.CLOSED)
        .aggregate(at=Max("closed_at"))
        .get("at")
    )


def missed_streak_check(*, slot: DoseSlot, now: datetime | None = None):
    """After a slot was marked missed: open an item when the schedule's last N closed doses were all missed."""
    schedule = slot.schedule
    wanted = schedule.follow_up_missed_doses
    if not wanted:
        return None
    closed = DoseSlot.objects.filter(schedule_id=schedule.pk, window_closes_at__lte=now or timezone.now()).exclude(
        status__in=DoseSlot.OPEN
    )
    since = _last_closed(slot.patient_id, Reason.MISSED_DOSES)
    if since is not None:
        closed = closed.filter(scheduled_at__gt=since)
    last = list(closed.order_by("-scheduled_at").values_list("status", flat=True)[:wanted])
    if len(last) < wanted or any(s != DoseSlot.Status.MISSED for s in last):
        return None
    return follow_up_open(
        patient=slot.patient,
        reason=Reason.MISSED_DOSES,
        schedule=schedule,
        detail={"missedDoses": wanted, "medication": schedule.medication, "lastDoseAt": slot.scheduled_at.isoformat()},
        now=now,
    )


def follow_up_sweep(*, now: datetime | None = None, chunk: int = 500) -> int:
    """Open a "stopped replying" item for each patient reminded at least D days ago who has not
    replied since (D: the smallest `follow_up_silent_days` of their active schedules). Beat, 10 min."""
    now = now or timezone.now()
    days_by_patient: dict = {}
    for patient_id, days in MedicationSchedule.objects.filter(active=True, follow_up_silent_days__gt=0).values_list(
        "patient_id", "follow_up_silent_days"
    ):
        days_by_patient[patient_id] = min(days, days_by_patient.get(patient_id, days))
    already_open = set(
        FollowUp.objects.filter(reason=Reason.SILENT, status=Status.OPEN).values_list("patient_id", flat=True)
    )
    ids = [p for p in days_by_patient if p not in already_open]
    opened = 0
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        since = _latest_by_patient(part)
        for patient_id in part:
            days = days_by_patient[patient_id]
            cutoff = now - timedelta(days=days)
            reference = since.get(patient_id)
            if reference is not None and reference > cutoff:
                continue
            reminders = DoseSlot.objects.filter(patient_id=patient_id, reminded_at__lte=cutoff)
            if reference is not None:
                reminders = reminders.filter(reminded_at__gt=reference)
            if not reminders.exists():
                continue
            patient = Patient.objects.select_related("organization").get(pk=patient_id)
            detail = {"silentDays": days, "lastReplyAt": _reply_at(patient_id)}
            if follow_up_open(patient=patient, reason=Reason.SILENT, detail=detail, now=now) is not None:
                opened += 1
    return opened


def _latest_by_patient(patient_ids) -> dict:
    """Per patient: the latest of their last reply (any message, a dose confirmation) and their last
    closed "stopped replying" item: silence is measured from there."""
    latest: dict = {}

    def merge(rows):
        for patient_id, at in rows:
            if at is not None and (patient_id not in latest or at > latest[patient_id]):
                latest[patient_id] = at

    merge(
        InboundMessage.objects.filter(entity_type="patient", entity_id__in=patient_ids)
        .values("entity_id")
        .annotate(at=Max("received_at"))
        .values_list("entity_id", "at")
    )
    merge(
        DoseConfirmation.objects.filter(patient_id__in=patient_ids)
        .values("patient_id")
        .annotate(at=Max("received_at"))
        .values_list("patient_id", "at")
    )
    merge(
        FollowUp.objects.filter(patient_id__in=patient_ids, reason=Reason.SILENT)
        .values("patient_id")
        .annotate(at=Max(Coalesce("closed_at", "opened_at")))
        .values_list("patient_id", "at")
    )
    return latest


def _reply_at(patient_id) -> str | None:
    last = (
        InboundMessage.objects.filter(entity_type="patient", entity_id=patient_id)
        .aggregate(at=Max("received_at"))
        .get("at")
    )
    return last.isoformat() if last else None


# --- staff actions ---------------------------------------------------------------------------


def _locked(item: FollowUp) -> FollowUp:
    return FollowUp.objects.select_for_update().get(pk=item.pk)


@transaction.atomic
def follow_up_assign(*, item: FollowUp, assignee, by=None, now: datetime | None = None) -> FollowUp:
    """Give the item to a staff member of its organization, or back to the team (None)."""
    if assignee is not None and assignee.organization_id != item.organization_id:
        raise FollowUpError("assignee", "not a staff member of this organization")
    item = _locked(item)
    if item.assigned_to_id == getattr(assignee, "pk", None):
        return item
    item.assigned_to = assignee
    item.save(update_fields=["assigned_to", "updated_at"])
    _event(item, Kind.ASSIGNED, by=by, assigned_to=assignee, at=now)
    _publish_on_commit(item, "followup.changed")
    return item


@transaction.atomic
def follow_up_record(
    *, item: FollowUp, outcome: str, note: str = "", close: bool = False, by=None, now: datetime | None = None
) -> FollowUp:
    """Record what staff did (called — reached / not reached, visited, a note); optionally close."""
    if outcome not in FollowUp.Outcome.values:
        raise FollowUpError("outcome", f"one of {', '.join(FollowUp.Outcome.values)}")
    note = _note(note)
    if outcome == FollowUp.Outcome.NOTE and not note:
        raise FollowUpError("note", "write the note")
    item = _locked(item)
    if item.status != Status.OPEN:
        raise FollowUpError("status", "the item is closed; reopen it first")
    item.outcome = outcome
    item.save(update_fields=["outcome", "updated_at"])
    _event(item, Kind.OUTCOME, by=by, outcome=outcome, note=note, at=now)
    if close:
        return _close(item, by=by, now=now)
    _publish_on_commit(item, "followup.changed")
    return item


@transaction.atomic
def follow_up_close(*, item: FollowUp, note: str = "", by=None, now: datetime | None = None) -> FollowUp:
    item = _locked(item)
    if item.status != Status.OPEN:
        raise FollowUpError("status", "the item is already closed")
    return _close(item, by=by, note=_note(note), now=now)


def _close(item: FollowUp, *, by, note: str = "", now=None) -> FollowUp:
    item.status, item.closed_at = Status.CLOSED, now or timezone.now()
    item.save(update_fields=["status", "closed_at", "updated_at"])
    _event(item, Kind.CLOSED, by=by, note=note, at=item.closed_at)
    _publish_on_commit(item, "followup.changed")
    return item


@transaction.atomic
def follow_up_reopen(*, item: FollowUp, note: str = "", by=None, now: datetime | None = None) -> FollowUp:
    """Back on the list (kept in the history); refused while another item of that reason is open."""
    item = _locked(item)
    if item.status != Status.CLOSED:
        raise FollowUpError("status", "the item is open")
    if FollowUp.objects.filter(patient_id=item.patient_id, reason=item.reason, status=Status.OPEN).exists():
        raise FollowUpError("status", "the patient already has an open item for this reason")
    item.status, item.closed_at = Status.OPEN, None
    item.save(update_fields=["status", "closed_at", "updated_at"])
    _event(item, Kind.REOPENED, by=by, note=_note(note), at=now)
    _publish_on_commit(item, "followup.changed")
    return item


def _note(note) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise FollowUpError("note", f"at most {NOTE_MAX} characters")
    return note


def _event(item: FollowUp, kind: str, *, by=None, at=None, **fields) -> FollowUpEvent:
    return FollowUpEvent.objects.create(
        organization_id=item.organization_id,
        follow_up=item,
        patient_id=item.patient_id,
        kind=kind,
        by=by if getattr(by, "pk", None) else None,
        at=at or timezone.now(),
        **fields,
    )


def _publish_on_commit(item: FollowUp, event: str) -> None:
    data = {"followUpId": str(item.pk), "patientId": str(item.patient_id), "status": item.status}
    org_id = item.organization_id
    transaction.on_commit(lambda: live.publish(organization_id=org_id, event=event, data=data))


# --- the weekly summary ----------------------------------------------------------------------


def follow_up_summary(*, organization, now: datetime | None = None) -> dict:
    """The organization's last 7 days: open items, opened, closed, median time to close (hours)."""
    now = now or timezone.now()
    week = now - timedelta(days=7)
    items = FollowUp.objects.filter(organization=organization)
    open_items = items.filter(status=Status.OPEN)
    durations = [
        (closed - opened).total_seconds()
        for opened, closed in items.filter(status=Status.CLOSED, closed_at__gte=week).values_list(
            "opened_at", "closed_at"
        )
    ]
    return {
        "open": open_items.count(),
        "unassigned": open_items.filter(assigned_to__isnull=True).count(),
        "opened_this_week": items.filter(opened_at__gte=week).count(),
        "closed_this_week": len(durations),
        "median_hours_to_close": round(statistics.median(durations) / 3600, 1) if durations else None,
        "since": week,
    }
