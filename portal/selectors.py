"""Reads for the portal pages. Every function takes the organization and queries only its rows.

Query counts do not grow with the number of patients or days: counts and charts are one
GROUP BY each, lists are paged (tests/portal/test_dashboard.py asserts it).
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import connection
from django.db.models import CharField, Count, Q, QuerySet
from django.db.models.functions import Cast
from django.utils import timezone

from adherence.models import DoseConfirmation, DoseSlot
from adherence.schedule import zone
from entities.models import ENTITY_MODELS, Organization, Patient
from messaging.models import InboundMessage, OutboundMessage

S = DoseSlot.Status
STATUS_FILTERS = {
    "pending": [S.SCHEDULED, S.REMINDED],
    "taken": [S.TAKEN],
    "late": [S.LATE],
    "missed": [S.MISSED],
}


def org_today(organization: Organization, now: datetime | None = None) -> date:
    try:
        tz = zone(organization.timezone or "UTC")
    except ValueError:
        tz = zone("UTC")
    return (now or timezone.now()).astimezone(tz).date()


# --- Today -----------------------------------------------------------------------------------


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


# --- Adherence -------------------------------------------------------------------------------


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
            Q(first_name__icontains=query) | Q(last_name__icontains=query) | Q(national_id__icontains=query)
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
            .filter(Q(first_name__icontains=query) | Q(last_name__icontains=query) | Q(national_id__icontains=query))
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


def confirmations_for_export(*, organization, start: date, end: date) -> QuerySet[DoseConfirmation]:
    return (
        DoseConfirmation.objects.filter(
            organization=organization, slot__local_date__gte=start, slot__local_date__lte=end
        )
        .select_related("patient", "slot", "slot__schedule")
        .order_by("slot__scheduled_at", "id")
    )


# --- Conversations ---------------------------------------------------------------------------


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


def entity_get(*, organization, entity_type: str, entity_id):
    model = ENTITY_MODELS.get(entity_type)
    if model is None:
        return None
    return model.objects.filter(organization=organization, pk=entity_id).first()


@dataclass
class ThreadItem:
    direction: str  # "in" | "out"
    id: str
    body: str
    at: datetime
    status: str
    detail: str = ""
    source: str = ""
    confirmation: object = None
    may_not_have_been_sent: bool = False  # `unknown` past the deadline: offered for a resend
    held_until: datetime | None = None  # queued and held back (quiet hours, backoff) until then
    timeline: list = field(default_factory=list)  # (what happened, when), oldest first
    route_history: list = field(default_factory=list)  # gateways that gave up on it before this one


def _timeline(m) -> list:
    """An outbound message's status changes, as far as its timestamps record them."""
    steps = [("queued", m.created_at), ("sent", m.sent_at), ("delivered", m.delivered_at)]
    steps += [("undelivered", m.undelivered_at), ("failed", m.failed_at), ("unknown", m.unknown_at)]
    return sorted(((label, at) for label, at in steps if at is not None), key=lambda step: step[1])


def _source_label(message) -> str:
    # "Schedule" read as a calendar entry to staff: a medication schedule's message is its reminder
    # (sent by the beat, or by staff with "Send reminder now").
    return "Medication reminder" if message.source == "schedule" else message.get_source_display()


def thread_messages(*, organization, entity=None, phone: str = "", limit: int = 100) -> list[ThreadItem]:
    """Every message to and from the entity (or, for an unregistered number, that number), oldest
    first (the last `limit` of each direction)."""
    if entity is not None:
        phone = str(entity.phone) if entity.phone else ""
    items: list[ThreadItem] = []
    spellings = {phone, "+" + _phone_key(phone), _phone_key(phone)} if phone else set()
    if phone:
        from messaging.services.reconcile import may_not_have_been_sent

        outbound = OutboundMessage.objects.filter(organization=organization, recipient__in=spellings)
        doubtful = set(outbound.filter(may_not_have_been_sent()).values_list("id", flat=True))
        for m in outbound.order_by("-created_at")[:limit]:
            item = ThreadItem("out", str(m.id), m.body, m.created_at, m.status, m.error_reason, _source_label(m))
            item.may_not_have_been_sent = m.id in doubtful
            item.held_until = m.held_until()
            item.timeline, item.route_history = _timeline(m), m.route_history or []
            items.append(item)
    mine = Q(originator__in=spellings) if phone else Q(pk__in=[])
    if entity is not None:
        mine |= Q(entity_type=entity.entity_type, entity_id=entity.pk)
    inbound = InboundMessage.objects.filter(organization=organization).filter(mine)
    received = [
        ThreadItem("in", str(m.id), m.text, m.received_at, m.status, m.failure_reason)
        for m in inbound.order_by("-received_at")[:limit]
    ]
    confirmations = {
        str(c.inbound_message_id): c
        for c in DoseConfirmation.objects.filter(
            organization=organization, inbound_message_id__in=[i.id for i in received]
        ).select_related("slot__schedule")
    }
    for item in received:
        item.confirmation = confirmations.get(item.id)
    items += received
    items.sort(key=lambda i: (i.at, i.direction == "in"))
    return items[-limit:]


def phone_masked(phone: str) -> str:
    """A number shown without the whole of it (health data on a shared screen): last 4 digits."""
    digits = "".join(ch for ch in str(phone) if ch.isdigit())
    return f"••• {digits[-4:]}" if digits else "no number"


def _phone_key(phone: str) -> str:
    """One thread per number: "+12025550199" and a provider's "12025550199" are the same phone."""
    return "".join(ch for ch in str(phone) if ch.isdigit()) or str(phone)


@dataclass
class ThreadSummary:
    phone: str
    entity: object | None
    last_at: datetime
    last_body: str
    last_direction: str
    message_id: str = ""  # the latest message: opens the thread of a number nobody is registered with
    heard_from: bool = False  # the number has written to us (else we only sent to it)

    @property
    def masked(self) -> str:
        return phone_masked(self.phone)


def recent_threads(*, organization, limit: int = 50) -> list[ThreadSummary]:
    """The numbers most recently messaged or heard from — one row per number — with its entity."""
    outbound = OutboundMessage.objects.filter(organization=organization).order_by("-created_at")
    inbound = InboundMessage.objects.filter(organization=organization).order_by("-received_at")
    latest: dict[str, ThreadSummary] = {}
    for message_id, phone, at, body in outbound.values_list("id", "recipient", "created_at", "body")[:300]:
        latest.setdefault(_phone_key(phone), ThreadSummary(phone, None, at, body, "out", str(message_id)))
    for message_id, phone, at, body in inbound.values_list("id", "originator", "received_at", "text")[:300]:
        key = _phone_key(phone)
        current = latest.get(key)
        if current is None or at > current.last_at:
            # Keep the E.164 spelling when one direction has it.
            shown = current.phone if current is not None and current.phone.startswith("+") else phone
            latest[key] = ThreadSummary(shown, None, at, body, "in", str(message_id))
        latest[key].heard_from = True
    threads = sorted(latest.values(), key=lambda t: t.last_at, reverse=True)[:limit]
    numbers = {"+" + _phone_key(t.phone) for t in threads} | {t.phone for t in threads}
    owners: dict[str, object] = {}
    for model in ENTITY_MODELS.values():
        for entity in model.objects.filter(organization=organization, phone__in=numbers):
            owners.setdefault(_phone_key(entity.phone), entity)
    for t in threads:
        t.entity = owners.get(_phone_key(t.phone))
    return threads


def number_of_message(*, organization, message_id) -> str | None:
    """The phone number of one of the organization's messages (inbound sender or outbound recipient)."""
    phone = (
        InboundMessage.objects.filter(organization=organization, pk=message_id)
        .values_list("originator", flat=True)
        .first()
    )
    if phone is None:
        phone = (
            OutboundMessage.objects.filter(organization=organization, pk=message_id)
            .values_list("recipient", flat=True)
            .first()
        )
    return phone


def entity_by_phone(*, organization, phone: str):
    candidates = {phone, "+" + _phone_key(phone)}
    for model in ENTITY_MODELS.values():
        entity = model.objects.filter(organization=organization, phone__in=candidates).first()
        if entity is not None:
            return entity
    return None


def entities_search(*, organization, query: str, limit: int = 20) -> list:
    found = []
    for model in ENTITY_MODELS.values():
        qs = model.objects.filter(organization=organization)
        if query:
            qs = qs.filter(
                Q(first_name__icontains=query)
                | Q(last_name__icontains=query)
                | Q(national_id__icontains=query)
                | Q(phone__icontains=query)
            )
        found.extend(qs.order_by("last_name", "first_name")[:limit])
    return found[: limit * 3]


def simulator_numbers(*, organization, limit: int = 300) -> list:
    """The organization's people with a phone number, for the phone simulator's picker."""
    found = []
    for model in ENTITY_MODELS.values():
        found.extend(model.objects.filter(organization=organization).exclude(phone="").order_by("last_name")[:limit])
    return found


def simulator_phone(*, organization, number: str, limit: int = 50) -> list[ThreadItem]:
    """What the simulator gateway "delivered" to a number, and what that phone sent back."""
    items = [
        ThreadItem("in", str(m.id), m.body, m.sent_at or m.created_at, m.status)
        for m in OutboundMessage.objects.filter(
            organization=organization, recipient=number, gateway__type="simulator"
        ).order_by("-created_at")[:limit]
    ]
    items += [
        ThreadItem("out", str(m.id), m.text, m.received_at, m.status, m.failure_reason)
        for m in InboundMessage.objects.filter(organization=organization, originator=number).order_by("-received_at")[
            :limit
        ]
    ]
    items.sort(key=lambda i: i.at)
    return items
