"""Reads for the message log: every message of the organization, both directions, newest first.

Paged by keyset, never OFFSET: a page is "the `limit` messages before (or after) this one" in the
order (time, id), so page 20,000 costs what page 1 costs. Each direction is one query on its own
table, walking an (organization, time) index; the two are merged here. Filters and search narrow
those queries so they stay index-backed on PostgreSQL (docs/performance.md, "Message log"):
a number → the (recipient | originator) indexes, a text → the trigram indexes of
messaging/migrations (PostgreSQL only), a person → their numbers.
"""

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Q, QuerySet

from entities.models import ENTITY_MODELS
from messaging.models import InboundMessage, OutboundMessage, OutboundText
from portal.selectors.common import phone_key, words_q

OUT, IN = "out", "in"
OUTBOUND_STATUSES = [s.value for s in OutboundMessage.Status]
INBOUND_STATUSES = [s.value for s in InboundMessage.Status if s != InboundMessage.Status.UNATTRIBUTED]
STATUSES = list(dict.fromkeys(OUTBOUND_STATUSES + INBOUND_STATUSES))
# What a number search looks like: digits with the usual separators, at least three digits.
NUMBER_QUERY = re.compile(r"\+?[\d\s().-]{3,}")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PEOPLE_SEARCHED = 50  # a name matches at most this many people's numbers
SOURCE_LABELS = dict(OutboundMessage.Source.choices)  # not get_source_display(): it rebuilds this per row
OUT_TIMELINE = [
    ("queued", "created_at"),
    ("sent", "sent_at"),
    ("unknown", "unknown_at"),
    ("delivered", "delivered_at"),
    ("undelivered", "undelivered_at"),
    ("failed", "failed_at"),
    ("expired", "expired_at"),
]
OUT_COLUMNS = ["id", "created_at", "recipient", "body", "status", "gateway_id", "error_reason",
               "provider_error_code", "segments", "source", "attempts", "next_attempt_at",
               *(column for _, column in OUT_TIMELINE[1:])]  # fmt: skip
IN_COLUMNS = ["id", "received_at", "originator", "text", "status", "gateway_id", "failure_reason",
              "entity_type", "entity_id", "processed_at", "command", "recipient"]  # fmt: skip


TEXT_IDS_LISTED = 500  # matching sent texts passed to the log's query as ids, not as a subquery


class BadFilter(ValueError):
    """A filter the log cannot read; `field` names the query parameter."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name


@dataclass(frozen=True)
class Cursor:
    at: datetime
    id: uuid.UUID

    def encode(self) -> str:
        return f"{(self.at - EPOCH) // timedelta(microseconds=1)}-{self.id.hex}"

    @classmethod
    def decode(cls, text: str, field_name: str) -> "Cursor":
        micros, _, hex_id = text.partition("-")
        try:
            return cls(EPOCH + timedelta(microseconds=int(micros)), uuid.UUID(hex=hex_id))
        except (ValueError, OverflowError, OSError):
            raise BadFilter(field_name, "not a position in the log; open the first page") from None


@dataclass
class LogFilters:
    direction: str = ""  # "" | "out" | "in"
    status: str = ""
    gateway_id: uuid.UUID | None = None
    query: str = ""
    day_from: date | None = None
    day_to: date | None = None

    @classmethod
    def from_params(cls, params) -> "LogFilters":
        """Read the page's query parameters; a value it cannot read raises BadFilter naming it."""
        filters = cls(query=params.get("q", "").strip()[:100])
        direction = params.get("direction", "")
        if direction not in ("", OUT, IN):
            raise BadFilter("direction", 'direction is "out" or "in"')
        filters.direction = direction
        status = params.get("status", "")
        if status and status not in STATUSES:
            raise BadFilter("status", f"status is one of {', '.join(STATUSES)}")
        filters.status = status
        if gateway := params.get("gateway", ""):
            try:
                filters.gateway_id = uuid.UUID(gateway)
            except ValueError:
                raise BadFilter("gateway", "gateway is a gateway id") from None
        for name, attr in (("from", "day_from"), ("to", "day_to")):
            if value := params.get(name, ""):
                try:
                    setattr(filters, attr, date.fromisoformat(value))
                except ValueError:
                    raise BadFilter(name, f"{name} is a date as YYYY-MM-DD") from None
        if filters.day_from and filters.day_to and filters.day_to < filters.day_from:
            raise BadFilter("to", "to is on or after from")
        return filters

    @property
    def active(self) -> bool:
        return bool(self.direction or self.status or self.gateway_id or self.query or self.day_from or self.day_to)


@dataclass
class LogRow:
    direction: str
    id: uuid.UUID
    at: datetime
    number: str
    body: str
    status: str
    gateway_id: uuid.UUID | None
    reason: str = ""
    detail: str = ""
    timeline: list[tuple[str, datetime]] = field(default_factory=list)
    person: object = None
    gateway: object = None
    held_until: datetime | None = None

    @property
    def key(self) -> tuple[datetime, uuid.UUID]:
        return (self.at, self.id)


@dataclass
class LogPage:
    rows: list[LogRow]
    newer: str = ""  # cursor of the page before (newer messages), "" on the first page
    older: str = ""  # cursor of the next page (older messages), "" on the last


def _is_number(query: str) -> bool:
    return bool(NUMBER_QUERY.fullmatch(query)) and sum(ch.isdigit() for ch in query) >= 3


def _number_q(column: str, query: str, region: str) -> Q:
    """An exact match when the query is a whole number (read in the organization's region), else a
    prefix: a range on the indexed column (whatever the database's collation) checked by LIKE."""
    from smsportal.phones import InvalidPhoneNumber, to_e164

    digits = "".join(ch for ch in query if ch.isdigit())
    try:
        e164 = to_e164(query, region=region or None)
    except InvalidPhoneNumber:
        e164 = ""
    if e164:
        return Q(**{f"{column}__in": [e164, e164[1:]]})
    prefixes = ["+" + digits] if query.startswith("+") else ["+" + digits, digits]
    match = Q(pk__in=[])
    for prefix in prefixes:
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        match |= Q(**{f"{column}__gte": prefix, f"{column}__lt": upper, f"{column}__startswith": prefix})
    return match


def _people_numbers(*, organization, query: str) -> list[str]:
    """The numbers (both spellings) of the organization's people whose name or national id matches."""
    return _numbers_of(organization, words_q(query, "first_name", "last_name", "national_id"))


def _numbers_of_national_id(*, organization, query: str) -> list[str]:
    """The numbers of the organization's people whose national id is `query`: an all-digits id
    ("76988") reads like the beginning of a phone number, and both are searched."""
    return _numbers_of(organization, Q(national_id__iexact=query))


def _numbers_of(organization, people_q: Q) -> list[str]:
    """Both spellings ("+1…" and "1…") of the numbers of the organization's people matching `people_q`."""
    numbers: list[str] = []
    for model in ENTITY_MODELS.values():
        people = model.objects.filter(organization=organization).exclude(phone="").filter(people_q)
        numbers += [str(p) for p in people.values_list("phone", flat=True)[:PEOPLE_SEARCHED]]
    return sorted({n for p in numbers for n in (p, p.lstrip("+"))})


def _day_bounds(filters: LogFilters, tz) -> tuple[datetime | None, datetime | None]:
    """The date filter as instants: from the start of `from` to the end of `to`, in the organization's zone."""
    start = datetime.combine(filters.day_from, time(), tzinfo=tz) if filters.day_from else None
    end = datetime.combine(filters.day_to + timedelta(days=1), time(), tzinfo=tz) if filters.day_to else None
    return start, end


def sent_texts(organization, query: str):
    """The organization's distinct sent texts containing `query` (the trigram index on PostgreSQL)."""
    return OutboundText.objects.filter(organization=organization, body__icontains=query).values_list("id", flat=True)


def _sent_text_q(organization, query: str) -> Q:
    """Sent messages whose text contains `query`. Texts are stored once (messaging.OutboundText): a
    word found in a few texts becomes their ids, so the planner reads those texts' copies through the
    (text, created_at) index, or-ed with the other searches' indexes; a word in very many texts stays
    a subquery, and the newest-first walk finds matches soon anyway."""
    ids = list(sent_texts(organization, query)[: TEXT_IDS_LISTED + 1])
    if len(ids) > TEXT_IDS_LISTED:
        return Q(text_id__in=sent_texts(organization, query))
    return Q(text_id__in=ids)


def _received_text_q(organization, query: str) -> Q:
    return Q(text__icontains=query)


def _narrowed(
    qs: QuerySet, *, at: str, number: str, text: Callable[..., Q], filters: LogFilters, organization, tz, people
):
    if filters.gateway_id:
        qs = qs.filter(gateway_id=filters.gateway_id)
    if filters.status:
        qs = qs.filter(status=filters.status)
    start, end = _day_bounds(filters, tz)
    if start:
        qs = qs.filter(**{f"{at}__gte": start})
    if end:
        qs = qs.filter(**{f"{at}__lt": end})
    if filters.query:
        if _is_number(filters.query):
            match = _number_q(number, filters.query, organization.default_region)
        else:
            match = text(organization, filters.query)
        if people:
            match |= Q(**{f"{number}__in": people})
        qs = qs.filter(match)
    return qs


def outbound_log(*, organization, filters: LogFilters, tz=UTC, people=None) -> QuerySet | None:
    """The organization's outbound messages matching `filters` (None: the filters exclude them all)."""
    if filters.direction == IN or (filters.status and filters.status not in OUTBOUND_STATUSES):
        return None
    qs = OutboundMessage.objects.filter(organization=organization).only(*OUT_COLUMNS)
    return _narrowed(
        qs, at="created_at", number="recipient", text=_sent_text_q, filters=filters, organization=organization, tz=tz,
        people=people,
    )  # fmt: skip


def inbound_log(*, organization, filters: LogFilters, tz=UTC, people=None) -> QuerySet | None:
    """The organization's received messages matching `filters` (never an unattributed one: those
    have no organization until a superuser assigns them)."""
    if filters.direction == OUT or (filters.status and filters.status not in INBOUND_STATUSES):
        return None
    qs = InboundMessage.objects.filter(organization=organization).only(*IN_COLUMNS)
    return _narrowed(
        qs, at="received_at", number="originator", text=_received_text_q, filters=filters,
        organization=organization, tz=tz, people=people,
    )  # fmt: skip


def keyset(qs: QuerySet, *, at: str, cursor: Cursor | None, older: bool, limit: int) -> QuerySet:
    """`limit + 1` rows past `cursor` (the extra one tells whether another page follows)."""
    if cursor is not None:
        # `at <= t` is the index range; the few rows at exactly `t` are then split by id.
        if older:
            qs = qs.filter(**{f"{at}__lte": cursor.at}).exclude(**{at: cursor.at, "id__gte": cursor.id})
        else:
            qs = qs.filter(**{f"{at}__gte": cursor.at}).exclude(**{at: cursor.at, "id__lte": cursor.id})
    order = (f"-{at}", "-id") if older else (at, "id")
    return qs.order_by(*order)[: limit + 1]


def _out_row(m: OutboundMessage) -> LogRow:
    timeline = [(label, getattr(m, column)) for label, column in OUT_TIMELINE if getattr(m, column)]
    held = m.next_attempt_at if m.status == OutboundMessage.Status.QUEUED and m.next_attempt_at else None
    detail = SOURCE_LABELS.get(m.source, m.source) + (f" · {m.segments} segments" if m.segments > 1 else "")
    if m.attempts > 1:
        detail += f" · {m.attempts} attempts"
    reason = m.error_reason + (f" ({m.provider_error_code})" if m.provider_error_code else "")
    return LogRow(OUT, m.id, m.created_at, m.recipient, m.body, m.status, m.gateway_id, reason, detail,
                  sorted(timeline, key=lambda t: t[1]), held_until=held)  # fmt: skip


def _in_row(m: InboundMessage) -> LogRow:
    timeline = [("received", m.received_at)] + ([(m.status, m.processed_at)] if m.processed_at else [])
    detail = f"command {m.command}" if m.command else ""
    return LogRow(IN, m.id, m.received_at, m.originator, m.text, m.status, m.gateway_id, m.failure_reason, detail,
                  timeline)  # fmt: skip


def log_page(*, organization, filters: LogFilters, before: Cursor | None = None, after: Cursor | None = None,
             limit: int = 50, tz=UTC) -> LogPage:  # fmt: skip
    """One page of the log: the `limit` messages older than `before` (the first page without it), or
    newer than `after`, newest first."""
    people = None
    if filters.query and not _is_number(filters.query):
        people = _people_numbers(organization=organization, query=filters.query)
    elif filters.query:
        people = _numbers_of_national_id(organization=organization, query=filters.query)
    older = after is None
    cursor = before if older else after
    out_qs = outbound_log(organization=organization, filters=filters, tz=tz, people=people)
    in_qs = inbound_log(organization=organization, filters=filters, tz=tz, people=people)
    rows = []
    if out_qs is not None:
        rows += [_out_row(m) for m in keyset(out_qs, at="created_at", cursor=cursor, older=older, limit=limit)]
    if in_qs is not None:
        rows += [_in_row(m) for m in keyset(in_qs, at="received_at", cursor=cursor, older=older, limit=limit)]
    rows.sort(key=lambda r: r.key, reverse=older)
    more = len(rows) > limit
    rows = rows[:limit]
    if not older:
        rows.reverse()
    page = LogPage(rows)
    if rows:
        if (older and more) or not older:
            page.older = Cursor(*rows[-1].key).encode()
        if (not older and more) or (older and cursor is not None):
            page.newer = Cursor(*rows[0].key).encode()
    return page


def log_rows_attach(*, organization, rows: list[LogRow], gateways=None) -> None:
    """The person behind each number and each row's gateway, for one page: a query per person type
    and one for gateways (none when the page already has `gateways`), whatever the page's length."""
    from gateways.models import Gateway

    numbers = {"+" + phone_key(r.number) for r in rows}  # people's numbers are stored E.164
    owners: dict[str, object] = {}
    for model in ENTITY_MODELS.values():
        for person in model.objects.filter(organization=organization, phone__in=numbers):
            owners.setdefault(phone_key(str(person.phone)), person)
    if gateways is None:
        gateway_ids = {r.gateway_id for r in rows if r.gateway_id}
        gateways = Gateway.objects.filter(pk__in=gateway_ids).only("id", "name", "type")
    gateways = {g.pk: g for g in gateways}
    for r in rows:
        r.person = owners.get(phone_key(r.number))
        r.gateway = gateways.get(r.gateway_id)


def log_gateways(*, organization) -> list:
    """The gateways the log can be filtered by: the organization's own and the global ones."""
    from gateways.models import Gateway

    return list(
        Gateway.objects.filter(Q(organization=organization) | Q(organization__isnull=True))
        .only("id", "name", "type")
        .order_by("name")
    )


def log_export_rows(*, organization, filters: LogFilters, tz=UTC, chunk: int = 1000):
    """Every matching row, newest first, read page by page (memory stays one page whatever the total)."""
    before = None
    while True:
        page = log_page(organization=organization, filters=filters, before=before, limit=chunk, tz=tz)
        log_rows_attach(organization=organization, rows=page.rows)
        yield from page.rows
        if not page.older:
            return
        before = Cursor.decode(page.older, "before")
