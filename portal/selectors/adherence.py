"""Reads for the Adherence page, a patient's chart and the confirmations export."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db import connection
from django.db.models import CharField, Count, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from adherence.models import DoseConfirmation, DoseSlot
from entities.models import Patient
from portal.selectors.common import org_today, words_q

S = DoseSlot.Status


@dataclass
class DayBar:
    day: date
    taken: int = 0
    late: int = 0
    missed: int = 0

    @property
    def total(self) -> int:
        return self.taken + self.late + self.missed


def adherence_by_day(*, organization, start: date, end: date, patient=None) -> list[DayBar]:
    """On-time / late / missed per local day for closed doses (pending ones are not counted yet)."""
    qs = DoseSlot.objects.filter(
        organization=organization, local_date__gte=start, local_date__lte=end, status__in=[S.TAKEN, S.LATE, S.MISSED]
    )
    if patient is not None:
        qs = qs.filter(patient=patient)
    bars = {start + timedelta(days=i): DayBar(start + timedelta(days=i)) for i in range((end - start).days + 1)}
    for row in qs.values("local_date", "status").annotate(n=Count("id")).order_by():
        bar = bars.get(row["local_date"])
        if bar is not None:
            setattr(bar, row["status"], row["n"])
    return list(bars.values())


def rates(bars: list[DayBar]) -> dict[str, float | int]:
    taken = sum(b.taken for b in bars)
    late = sum(b.late for b in bars)
    missed = sum(b.missed for b in bars)
    total = taken + late + missed
    pct = (lambda n: round(100.0 * n / total, 1)) if total else (lambda n: 0.0)
    return {"taken": taken, "late": late, "missed": missed, "total": total,
            "taken_pct": pct(taken), "late_pct": pct(late), "missed_pct": pct(missed),
            "adherence_pct": pct(taken + late)}  # fmt: skip


@dataclass
class PatientRates:
    patient_id: object
    taken: int
    late: int
    missed: int
    patient: object = None

    @property
    def total(self) -> int:
        return self.taken + self.late + self.missed

    @property
    def on_time_rate(self) -> float:
        return 100.0 * self.taken / self.total if self.total else 0.0


def _patient_counts(*, organization, start: date, end: date, query: str = "") -> dict[str, list[int]]:
    """{patient id as text: [taken, late, missed]} for closed doses in the range.

    One GROUP BY on the covering index, no join; ids come back as text (no UUID objects for
    thousands of rows — only the shown page needs its patients, see `patients_attach`).
    """
    qs = DoseSlot.objects.filter(
        organization=organization, local_date__gte=start, local_date__lte=end, status__in=[S.TAKEN, S.LATE, S.MISSED]
    )
    if query:
        matching = Patient.objects.filter(organization=organization).filter(
            words_q(query, "first_name", "last_name", "national_id")
        )
        qs = qs.filter(patient__in=matching.values("pk"))
    rows = (
        qs.values(pid=Cast("patient_id", CharField()))
        .annotate(
            taken=Count("id", filter=Q(status=S.TAKEN)),
            late=Count("id", filter=Q(status=S.LATE)),
            missed=Count("id", filter=Q(status=S.MISSED)),
        )
        .order_by()
        .values_list("pid", "taken", "late", "missed")
    )
    # Thousands of rows of text and integers: read them raw, without per-row ORM converters.
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pid: [taken, late, missed] for pid, taken, late, missed in cursor.fetchall()}


def _ranked(counts: dict[str, list[int]]) -> list[PatientRates]:
    """Worst on-time rate first, then most missed."""
    keyed = sorted(((t / (t + lt + m) if t + lt + m else 0.0), -m, pid, t, lt, m) for pid, (t, lt, m) in counts.items())
    return [PatientRates(pid, t, lt, m) for _, _, pid, t, lt, m in keyed]


def adherence_by_patient(*, organization, start: date, end: date, query: str = "") -> list[PatientRates]:
    """One row per patient with closed doses in the range, worst on-time rate first."""
    return _ranked(_patient_counts(organization=organization, start=start, end=end, query=query))


# Doses two or more days old are final (windows and the late limit are shorter than a day), so
# the aggregates of those days are cached; only the last two days are counted on every request.
FROZEN_CACHE_SECONDS = 600


def adherence_summary(*, organization, start: date, end: date, query: str = "") -> tuple[list[DayBar], list]:
    """The chart (per day, whole organization) and the patient list of the Adherence page."""
    from django.core.cache import cache

    frozen_end = min(end, org_today(organization) - timedelta(days=2))
    if frozen_end < start:
        return (
            adherence_by_day(organization=organization, start=start, end=end),
            adherence_by_patient(organization=organization, start=start, end=end, query=query),
        )
    key = f"portal:adherence:{organization.pk}:{start}:{frozen_end}"
    frozen = cache.get(key)
    if frozen is None:
        days = adherence_by_day(organization=organization, start=start, end=frozen_end)
        frozen = (
            [(b.day, b.taken, b.late, b.missed) for b in days],
            _patient_counts(organization=organization, start=start, end=frozen_end),
        )
        cache.set(key, frozen, FROZEN_CACHE_SECONDS)
    recent_start = frozen_end + timedelta(days=1)
    bars = [DayBar(*row) for row in frozen[0]]
    totals = frozen[1]  # a fresh copy: the cache hands out unpickled values
    if recent_start <= end:
        bars += adherence_by_day(organization=organization, start=recent_start, end=end)
        for pid, (t, lt, m) in _patient_counts(organization=organization, start=recent_start, end=end).items():
            counts = totals.setdefault(pid, [0, 0, 0])
            counts[0] += t
            counts[1] += lt
            counts[2] += m
    if query:
        matching = {
            str(pk)
            for pk in Patient.objects.filter(organization=organization)
            .filter(words_q(query, "first_name", "last_name", "national_id"))
            .values_list(Cast("pk", CharField()), flat=True)
        }
        totals = {pid: c for pid, c in totals.items() if pid in matching}
    return bars, _ranked(totals)


def patients_attach(rows) -> None:
    """Load the patients of a page of PatientRates in one query."""
    by_id = {str(p.pk).replace("-", ""): p for p in Patient.objects.filter(pk__in=[r.patient_id for r in rows])}
    for r in rows:
        r.patient = by_id.get(str(r.patient_id).replace("-", ""))
        if r.patient is not None:
            r.patient_id = r.patient.pk


def patient_recent_doses(*, organization, patient, now=None, limit: int = 20) -> QuerySet[DoseSlot]:
    """A patient's latest doses, newest first: those whose time has come, and any dose already
    reminded or confirmed ahead of its time (a reply before the dose counts: a patient who took it
    early sees it here at once)."""
    now = now or timezone.now()
    happened = Q(scheduled_at__lte=now) | Q(reminded_at__isnull=False) | Q(status__in=[S.TAKEN, S.LATE])
    return (
        DoseSlot.objects.filter(happened, organization=organization, patient=patient)
        .select_related("schedule", "confirmation")
        .order_by("-scheduled_at")[:limit]
    )


def confirmations_for_export(*, organization, start: date, end: date) -> QuerySet[DoseConfirmation]:
    return (
        DoseConfirmation.objects.filter(
            organization=organization, slot__local_date__gte=start, slot__local_date__lte=end
        )
        .select_related("patient", "slot", "slot__schedule")
        .order_by("slot__scheduled_at", "id")
    )
