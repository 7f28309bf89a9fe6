"""Reads for the Today page: today's doses of the organization, counted and listed."""

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Count, QuerySet
from django.utils import timezone

from adherence.models import DoseSlot
from portal.selectors.common import words_q

S = DoseSlot.Status
STATUS_FILTERS = {
    "pending": [S.SCHEDULED, S.REMINDED],
    "taken": [S.TAKEN],
    "late": [S.LATE],
    "missed": [S.MISSED],
}


def today_counts(*, organization, day: date) -> dict[str, int]:
    rows = DoseSlot.objects.filter(organization=organization, local_date=day).values("status").annotate(n=Count("id"))
    by_status = {r["status"]: r["n"] for r in rows}
    counts = {key: sum(by_status.get(s, 0) for s in statuses) for key, statuses in STATUS_FILTERS.items()}
    counts["total"] = sum(by_status.values())
    return counts


def today_doses(*, organization, day: date, status: str = "", query: str = "") -> QuerySet[DoseSlot]:
    qs = DoseSlot.objects.filter(organization=organization, local_date=day)
    if status in STATUS_FILTERS:
        qs = qs.filter(status__in=STATUS_FILTERS[status])
    if query:
        qs = qs.filter(
            words_q(query, "patient__first_name", "patient__last_name", "patient__national_id", "schedule__medication")
        )
    # Ordered on the slot's own columns: a top-100 sort of today's slots, joined for 100 rows only.
    return qs.select_related("patient", "schedule", "confirmation", "reminder").order_by("local_time", "id")


@dataclass
class NextReminder:
    """The organization's next reminder time and the doses due then (the first few, named)."""

    at: datetime
    count: int
    slots: list[DoseSlot]  # at most NAMED, by patient name

    @property
    def more(self) -> int:
        return self.count - len(self.slots)


NAMED = 3


def next_reminder(*, organization, now=None) -> NextReminder | None:
    """The next time a reminder goes out (a dose not reminded yet) and every dose due then."""
    pending = DoseSlot.objects.filter(
        organization=organization, status=DoseSlot.Status.SCHEDULED, scheduled_at__gt=now or timezone.now()
    )
    at = pending.order_by("scheduled_at").values_list("scheduled_at", flat=True).first()
    if at is None:
        return None
    due = pending.filter(scheduled_at=at)
    slots = list(
        due.select_related("patient", "schedule").order_by("patient__last_name", "patient__first_name", "id")[:NAMED]
    )
    return NextReminder(at=at, count=len(slots) if len(slots) < NAMED else due.count(), slots=slots)
