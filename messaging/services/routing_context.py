"""What routing reads and writes once per batch: the last message sent to each number, keyword
commands and matching people in; the routed rows out in one statement."""

from collections import defaultdict

from django.db import connection
from django.db.models import F, Window, prefetch_related_objects
from django.db.models.functions import RowNumber

from entities.models import ENTITY_MODELS
from messaging.listeners import routing_batches
from messaging.models import InboundMessage, KeywordCommand, OutboundMessage
from smsportal.db import rows_as, update_from_values_sql
from smsportal.localcache import LocalCache

# Outbound statuses that mean "sent to the phone" for reply correlation.
SENT_STATUSES = [
    OutboundMessage.Status.SENT,
    OutboundMessage.Status.DELIVERED,
    OutboundMessage.Status.UNDELIVERED,
    OutboundMessage.Status.UNKNOWN,
]


_LAST_SENT_COLUMNS = ["id", "recipient", "provider_message_id", "created_at"]
_RECENT_PER_NUMBER = 20  # messages per number a batch reads at once (other databases than PostgreSQL)


def _last_sent_postgresql(organization_id, replies: list[tuple[str, object]]) -> dict[int, OutboundMessage]:
    """For each (number, arrival time), the newest message the organization had sent to that number
    by then (not its automatic replies), keyed by the pair's position.

    One LATERAL lookup per reply over the (organization, recipient, -created_at) index, written out:
    compiling the ORM's form was the costliest step of a routing run of one reply.
    """
    table = connection.ops.quote_name(OutboundMessage._meta.db_table)
    sql = (
        f"SELECT v.position, {', '.join(f'm.{c}' for c in _LAST_SENT_COLUMNS)} "  # noqa: S608
        f"FROM (VALUES {', '.join(['(%s, %s, %s::timestamptz)'] * len(replies))}) AS v(position, number, arrived) "
        f"CROSS JOIN LATERAL (SELECT {', '.join(_LAST_SENT_COLUMNS)} FROM {table} "
        "WHERE organization_id = %s AND recipient = v.number AND created_at <= v.arrived "
        f"AND status IN ({', '.join(['%s'] * len(SENT_STATUSES))}) AND source <> %s "
        "ORDER BY created_at DESC LIMIT 1) AS m"
    )
    params = [value for position, (number, arrived) in enumerate(replies) for value in (position, number, arrived)]
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, organization_id, *SENT_STATUSES, OutboundMessage.Source.SYSTEM])
        rows = cursor.fetchall()
    return {row[0]: OutboundMessage.from_db(connection.alias, _LAST_SENT_COLUMNS, row[1:]) for row in rows}


_keyword_commands = LocalCache("routing-keyword-commands")


def keyword_commands_get(*, organization_id) -> dict[str, KeywordCommand]:
    """The organization's active keyword commands by keyword, kept per process for
    SMSPORTAL_LOCAL_CACHE_SECONDS (saving or deleting one clears it): one query less per routing
    run, the most of them at low rates. Read-only."""

    def load():
        return {c.keyword: c for c in KeywordCommand.objects.filter(organization_id=organization_id, is_active=True)}

    return _keyword_commands.get_or_load(str(organization_id), load)


def _related_attach(model, name: str, people: list) -> None:
    """What `prefetch_related(name)` does for these people, with one written-out query: each gets
    its related rows (a patient's caregivers, a caregiver's patients) as the prefetched result of
    `person.<name>.all()`. Compiling the ORM's prefetch query was a sixth of a routing run of one
    reply. On PostgreSQL only; elsewhere Django's own prefetch."""
    if connection.vendor != "postgresql":
        prefetch_related_objects(people, name)
        return
    descriptor = getattr(model, name)
    field = descriptor.field  # the ManyToManyField (declared on one side, reverse on the other)
    through = descriptor.through._meta
    if descriptor.reverse:  # e.g. Patient.caregivers: the field is Caregiver.patients
        other, mine_column, other_column = field.model, field.m2m_reverse_name(), field.m2m_column_name()
    else:
        other, mine_column, other_column = field.related_model, field.m2m_column_name(), field.m2m_reverse_name()
    quote = connection.ops.quote_name
    order = ", ".join(
        f"o.{quote(other._meta.get_field(f.lstrip('-')).column)}{' DESC' if f.startswith('-') else ''}"
        for f in other._meta.ordering
    )
    sql = (
        f"SELECT o.*, t.{quote(mine_column)} AS related_owner FROM {quote(other._meta.db_table)} o "  # noqa: S608
        f"JOIN {quote(through.db_table)} t ON t.{quote(other_column)} = o.id "
        f"WHERE t.{quote(mine_column)} IN ({', '.join(['%s'] * len(people))}) "
        f"ORDER BY {order or 'o.id'}"  # the model's ordering, as the ORM's prefetch
    )
    by_owner: dict = defaultdict(list)
    for row in rows_as(other, sql, [str(person.pk) for person in people]):
        by_owner[str(row.related_owner)].append(row)
    for person in people:
        rows = other.objects.all()
        rows._result_cache, rows._prefetch_done = by_owner.get(str(person.pk), []), True
        person._prefetched_objects_cache = {name: rows}


class RoutingContext:
    """What routing needs about one organization and a set of senders, read once per batch:
    the last message sent to each number, keyword commands, matching people. Collects the row
    updates, written by `flush()` in one statement with what the listeners collected."""

    def __init__(self, organization, messages: list[InboundMessage]):
        self.organization = organization
        numbers = sorted({m.originator for m in messages if m.originator})
        self.last_sent = self._last_sent(messages)
        self.commands = keyword_commands_get(organization_id=organization.id)
        self.people: dict[str, list] = defaultdict(list)
        related = {"patient": "caregivers", "caregiver": "patients"}
        phones = [n for n in numbers if n.startswith("+")]
        for entity_type, model in ENTITY_MODELS.items():
            if not phones:
                break
            # Written out: compiling these three wide SELECTs through the ORM was most of the CPU of
            # a routing run of one reply. The phone is compared as text (stored in E.164): the ORM's
            # `phone__in` would parse and validate every number again.
            table = connection.ops.quote_name(model._meta.db_table)
            found = rows_as(
                model,
                f"SELECT *, phone AS phone_text FROM {table} "  # noqa: S608 — identifiers from the model
                f"WHERE organization_id = %s AND phone IN ({', '.join(['%s'] * len(phones))})",
                [model._meta.get_field("organization").get_db_prep_value(organization.id, connection), *phones],
            )
            if entity_type in related and found:
                _related_attach(model, related[entity_type], found)  # BioT `_referencers` / `patients`
            for person in found:
                person.organization = organization  # filtered by it; saves a query per payload
                self.people[person.phone_text].append(person)
        self.updated: list[InboundMessage] = []
        self.listeners = routing_batches(organization)  # plugins' invocations (messaging/listeners.py)

    def _last_sent(self, messages: list[InboundMessage]) -> dict:
        """The message each reply answers: the newest one sent to its number by the time the reply
        was stored (a reply routed late, after a later send, still answers the earlier one).
        Keyed by the reply's id."""
        replies = [m for m in messages if m.originator]
        if not replies:
            return {}
        if connection.vendor == "postgresql":
            found = _last_sent_postgresql(self.organization.id, [(m.originator, m.created_at) for m in replies])
            return {replies[position].pk: sent for position, sent in found.items()}
        sent = (
            OutboundMessage.objects.filter(organization=self.organization, status__in=SENT_STATUSES)
            .exclude(source=OutboundMessage.Source.SYSTEM)
            .only(*_LAST_SENT_COLUMNS)
        )
        # One query for the batch: each number's newest messages up to the latest arrival (a window
        # function, PostgreSQL and SQLite alike); each reply then takes the newest before its own.
        recent = (
            sent.filter(
                recipient__in={m.originator for m in replies}, created_at__lte=max(m.created_at for m in replies)
            )
            .annotate(rank=Window(RowNumber(), partition_by=[F("recipient")], order_by=F("created_at").desc()))
            .filter(rank__lte=_RECENT_PER_NUMBER)
            .order_by("recipient", "-created_at")
        )
        candidates: dict[str, list[OutboundMessage]] = defaultdict(list)
        for message in recent:
            candidates[message.recipient].append(message)
        found = {}
        for reply in replies:
            mine = candidates[reply.originator]
            last = next((c for c in mine if c.created_at <= reply.created_at), None)
            if last is None and len(mine) == _RECENT_PER_NUMBER:  # sent many times since: ask exactly
                last = (
                    sent.filter(recipient=reply.originator, created_at__lte=reply.created_at)
                    .order_by("-created_at")
                    .first()
                )
            if last is not None:
                found[reply.pk] = last
        return found

    def flush(self) -> None:
        _routed_save(self.updated)
        for listener in self.listeners:
            listener.flush()
        self.updated = []


ROUTED_FIELDS = [
    "status",
    "failure_reason",
    "processed_at",
    "command",
    "entity_type",
    "entity_id",
    "in_reply_to",
    "previous_published_message_id",
    "updated_at",
]


# The VALUES columns of `_routed_save` (key first) and their SQL types.
_ROUTED_COLUMNS = [
    ("id", "uuid"),
    ("status", "varchar"),
    ("failure_reason", "varchar"),
    ("processed_at", "timestamptz"),
    ("command", "varchar"),
    ("entity_type", "varchar"),
    ("entity_id", "uuid"),
    ("in_reply_to_id", "uuid"),
    ("ppmid", "varchar"),
    ("updated_at", "timestamptz"),
]


def _routed_save(messages: list[InboundMessage]) -> None:
    """Write the routing outcome of a batch in one statement.

    Django's bulk_update builds a CASE per field and row: over half of routing's CPU at 50 rows.
    On PostgreSQL one UPDATE … FROM (VALUES …) does the same (as outbound's `_sent_record`).
    """
    if not messages:
        return
    if connection.vendor != "postgresql":
        InboundMessage.objects.bulk_update(messages, ROUTED_FIELDS)
        return
    params = []
    for m in messages:
        params += [
            str(m.id),
            m.status,
            m.failure_reason,
            m.processed_at,
            m.command,
            m.entity_type,
            str(m.entity_id) if m.entity_id else None,
            str(m.in_reply_to_id) if m.in_reply_to_id else None,
            m.previous_published_message_id,
            m.updated_at,
        ]
    sql = update_from_values_sql(
        connection.ops.quote_name(InboundMessage._meta.db_table),
        assignments="status = v.status, failure_reason = v.failure_reason, processed_at = v.processed_at, "
        "command = v.command, entity_type = v.entity_type, entity_id = v.entity_id, "
        "in_reply_to_id = v.in_reply_to_id, previous_published_message_id = v.ppmid, updated_at = v.updated_at",
        columns=_ROUTED_COLUMNS,
        rows=len(messages),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
