"""Reads for the Today page: today's doses of the organization, counted and listed."""

from datetime import date

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from adherence.models import DoseSlot

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
            Q(patient__first_name__icontains=query)
            | Q(patient__last_name__icontains=query)
            | Q(patient__national_id__icontains=query)
            | Q(schedule__medication__icontains=query)
        )
    # Ordered on the slot's own columns: a top-100 sort of today's slots, joined for 100 rows only.
    return qs.select_related("patient", "schedule", "confirmation", "reminder").order_by("local_time", "id")


def next_reminder(*, organization, now=None) -> DoseSlot | None:
    """The organization's next dose whose reminder has not gone out yet (the Today page says when)."""
    return (
        DoseSlot.objects.filter(
            organization=organization, status=DoseSlot.Status.SCHEDULED, scheduled_at__gt=now or timezone.now()
        )
        .select_related("patient", "schedule")
        .order_by("scheduled_at")
        .first()
    )
