"""The inbound pipeline: store (deduplicated) → route (sender lookup, correlation, commands) → plugins.

1. `inbound_receive()` stores one row per provider message. The unique constraint
   (organization, gateway label, provider message id) is the claim: concurrent copies of one
   provider message race on the INSERT and exactly one wins (`created=True`); only the winner
   asks for routing, after commit.
2. `inbound_route_request()` publishes one routing run per pending batch (Redis SET NX), like the
   outbound dispatcher, so the webhook path does not pay a broker publish per request.
3. `inbound_route()` locks one `received` row (SKIP LOCKED), and in one transaction: links the last
   message sent to that number, runs opt-out/opt-in/help and keyword commands, finds the sender
   (exactly one entity), creates one plugin invocation per matching registration and marks the
   row `processed` or `failed` with a reason. A crash rolls everything back; the row stays
   `received` and the sweeper routes it again.
"""

import functools
import logging
import re
import unicodedata
import uuid
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from gateways.providers.base import InboundSms
from messaging.models import InboundMessage, KeywordCommand, OptOut, OutboundMessage
from messaging.phones import InvalidPhoneNumber, to_e164
from smsportal.db import execute_hot
from smsportal.localcache import LocalCache
from smsportal.logging import phone_ref
from smsportal.redis import get_redis

logger = logging.getLogger(__name__)
Status = InboundMessage.Status
Reason = InboundMessage.FailureReason

ROUTE_PENDING_KEY = "smsportal:inbound:route-pending"
ROUTE_BATCH = 50
# Outbound statuses that mean "sent to the phone" for reply correlation.
SENT_STATUSES = [
    OutboundMessage.Status.SENT,
    OutboundMessage.Status.DELIVERED,
    OutboundMessage.Status.UNDELIVERED,
    OutboundMessage.Status.UNKNOWN,
]


def inbound_receive(
    *,
    organization,
    gateway,
    sms: InboundSms,
    gateway_label: str = "",
    source_ip: str | None = None,
    encoding: str = "",
    sent_at=None,
) -> tuple[InboundMessage, bool]:
    """Store one inbound SMS exactly once and schedule its routing. Returns (message, created).

    `organization` None (a global gateway's webhook): attributed by the number the reply was sent
    to (messaging/services/attribution.py); a reply no rule attributes is stored unattributed.
    """
    from messaging.services.attribution import reply_organization
    from plugins.payload import new_trace_id

    label = gateway_label or (gateway.uid if gateway is not None else "default")
    provider_id = sms.provider_message_id or uuid.uuid4().hex
    if organization is None and gateway is not None:
        organization = reply_organization(
            gateway=gateway, sender=sender_e164(sms.sender), destination=sms.recipient or ""
        )
    unattributed = organization is None
    region = None if unattributed else (organization.default_region or None)
    candidate = InboundMessage(
        organization=organization,
        status=Status.UNATTRIBUTED if unattributed else Status.RECEIVED,
        arrived_unattributed=unattributed,
        gateway_label=label[:100],
        provider_message_id=provider_id[:128],
        gateway=gateway,
        originator=sender_e164(sms.sender, region=region)[:32],
        recipient=(sms.recipient or "")[:32],
        text=sms.text,
        encoding=encoding or "ENC7BIT",
        received_at=sms.received_at or timezone.now(),
        sent_at=sent_at,
        raw=dict(sms.raw or {}),
        previous_published_message_id=(sms.previous_published_message_id or "")[:128],
        source_ip=source_ip,
        trace_id=new_trace_id(),
    )
    # No savepoint of our own: one statement, inside the caller's transaction when there is one
    # (the webhook view's), so routing is requested only once the row is committed.
    created = _insert_once(candidate, unattributed=unattributed)
    if created:
        message = candidate
        message._state.adding, message._state.db = False, connection.alias
        if unattributed:
            logger.warning("inbound SMS on a global gateway held unattributed", extra={"inbound": str(message.id)})
        else:
            transaction.on_commit(inbound_route_request)
    else:
        same = {"arrived_unattributed": True} if unattributed else {"organization": organization}
        message = InboundMessage.objects.filter(
            gateway_label=candidate.gateway_label, provider_message_id=candidate.provider_message_id, **same
        ).first()
    if not created:
        logger.info("duplicate inbound message ignored", extra={"inbound": str(message.id)})
    return message, created


def _insert_once(message: InboundMessage, *, unattributed: bool = False) -> bool:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: True when this call stored the row.

    One statement: the unique constraint decides between concurrent copies of a provider message
    (the loser waits for the winner's commit, then inserts nothing) — no check-then-insert, no
    savepoint round trips on the hot webhook path.
    """
    fields = InboundMessage._meta.concrete_fields
    params = [f.get_db_prep_save(f.pre_save(message, True), connection) for f in fields]
    _, returned = execute_hot(_insert_once_sql(connection.vendor, unattributed), params)
    return returned is not None


@functools.cache
def _insert_once_sql(vendor: str, unattributed: bool = False) -> str:
    """The statement of `_insert_once`, built once per process (it only depends on the model).
    An unattributed row (no organization) conflicts on its own partial unique index instead, which
    also holds the rows superusers have assigned since."""
    fields = InboundMessage._meta.concrete_fields
    table = connection.ops.quote_name(InboundMessage._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    conflict = ", ".join(
        connection.ops.quote_name(InboundMessage._meta.get_field(name).column)
        for name in (() if unattributed else ("organization",)) + ("gateway_label", "provider_message_id")
    )
    partial = f" WHERE {connection.ops.quote_name('arrived_unattributed')}" if unattributed else ""
    return (
        f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) "  # noqa: S608 — identifiers from the model
        f"ON CONFLICT ({conflict}){partial} DO NOTHING RETURNING {connection.ops.quote_name('id')}"
    )


def sender_e164(raw: str, *, region: str | None = None) -> str:
    """The sender in E.164 when it is a possible number (replies come from real phones, so a number
    outside current numbering metadata is still kept as a number); else the text as given."""
    import phonenumbers

    text = (raw or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    elif text and text[0].isdigit() and not region:
        text = "+" + text  # providers often drop the "+" of international numbers
    strict = False
    if text.startswith("+"):
        # A "+" number parses the same whatever the region and strictness; asked exactly as the
        # webhook adapters ask (normalise_number), to_e164's cache answers: one parse per webhook.
        region, strict = None, True
    try:
        return to_e164(text, region=region, strict=strict)
    except InvalidPhoneNumber:
        pass
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return (raw or "").strip()
    if phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return (raw or "").strip()


def inbound_route_request() -> None:
    """Make sure a routing run will pick up what was just committed (one publish per pending run)."""
    from messaging.tasks import inbound_route_task

    client = get_redis()
    if client is None or settings.CELERY_TASK_ALWAYS_EAGER:
        inbound_route_task.delay()
        return
    try:
        if client.set(ROUTE_PENDING_KEY, "1", nx=True, ex=5):
            inbound_route_task.delay()
    except Exception:
        # Redis or the broker is down: the row is committed as `received`; the sweeper routes it.
        logger.warning("inbound route request not published; the sweeper will route the message", exc_info=True)


def inbound_route_pending(*, batch: int = ROUTE_BATCH, max_batches: int = 4) -> int:
    """Route waiting messages in batches (oldest first). Returns how many this run routed.

    A run is bounded: when more are waiting after `max_batches`, it hands over to a fresh task so
    the plugin calls queued meanwhile are not starved behind one long routing loop.
    """
    client = get_redis()
    if client is not None:
        try:
            client.delete(ROUTE_PENDING_KEY)  # before reading: a later commit publishes a new run
        except Exception:  # noqa: BLE001
            logger.warning("route-pending flag not cleared", exc_info=True)
    routed = 0
    for _ in range(max_batches):
        count = inbound_route_batch(limit=batch)
        routed += count
        if count < batch:
            return routed
    inbound_route_request()
    return routed


def inbound_route_batch(*, limit: int = ROUTE_BATCH) -> int:
    """Claim up to `limit` received messages (SKIP LOCKED: workers share the backlog) and route them
    in one transaction, with the lookups done once per batch. A failure falls back to one-by-one."""
    messages: list[InboundMessage] = []
    try:
        with transaction.atomic():
            messages = list(
                # Not the gateway: only an automatic reply needs it (loaded then), and joining it
                # decrypted its secrets once per message.
                InboundMessage.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(status=Status.RECEIVED)
                .order_by("created_at")[:limit]
            )
            if not messages:
                return 0
            for message in messages:
                message.organization = organization_get(organization_id=message.organization_id)
            by_org: dict = defaultdict(list)
            for message in messages:
                by_org[message.organization_id].append(message)
            for group in by_org.values():
                context = RoutingContext(group[0].organization, group)
                for message in group:
                    _route(message, context)
                context.flush()
            transaction.on_commit(lambda: _publish(*messages))
            return len(messages)
    except Exception:
        logger.exception("batch routing failed; routing one by one")
        ids = [m.id for m in messages]
        return sum(inbound_route(message_id=i) is not None for i in ids)


_organizations = LocalCache("routing-organization")


def organization_get(*, organization_id):
    """An organization by id, kept per process for SMSPORTAL_LOCAL_CACHE_SECONDS (saving one clears
    it): joining it to every claimed batch compiled its many columns each time. Read-only."""
    from entities.models import Organization

    return _organizations.get_or_load(str(organization_id), lambda: Organization.objects.get(pk=organization_id))


def inbound_route(*, message_id) -> InboundMessage | None:
    """Route one received message (see module docstring). None when another worker has it or it is done."""
    try:
        with transaction.atomic():
            message = (
                InboundMessage.objects.select_for_update(skip_locked=True, of=("self",))
                .select_related("organization", "gateway")
                .filter(pk=message_id, status=Status.RECEIVED)
                .first()
            )
            if message is None:
                return None
            context = RoutingContext(message.organization, [message])
            _route(message, context)
            context.flush()
    except Exception:
        # A bug must not leave the message unprocessed forever: fail it visibly.
        logger.exception("inbound routing failed", extra={"inbound": str(message_id)})
        InboundMessage.objects.filter(pk=message_id, status=Status.RECEIVED).update(
            status=Status.FAILED, failure_reason=Reason.ROUTING_ERROR, processed_at=timezone.now()
        )
        message = InboundMessage.objects.filter(pk=message_id).first()
        if message is None:
            return None
    _publish(message)
    return message


def _publish(*messages: InboundMessage) -> None:
    """One `inbound.message` live event per routed message (a batch in one Redis round trip)."""
    from messaging.live import publish_many

    publish_many(
        [
            (
                message.organization_id,
                "inbound.message",
                {
                    "id": str(message.id),
                    "status": message.status,
                    "failureReason": message.failure_reason or None,
                    "command": message.command or None,
                    "entityType": message.entity_type or None,
                    "entityId": str(message.entity_id) if message.entity_id else None,
                    "inReplyTo": str(message.in_reply_to_id) if message.in_reply_to_id else None,
                    "receivedAt": message.received_at.isoformat(),
                },
            )
            for message in messages
        ]
    )


def normalize_words(text: str) -> list[str]:
    """Words for keyword matching: NFKC, upper-case, zero-width characters and punctuation removed."""
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"[\u200b-\u200f\u2060\ufeff]", "", text).upper()
    return [w for w in (re.sub(r"[^\w]", "", part) for part in text.split()) if w]


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


class RoutingContext:
    """What routing needs about one organization and a set of senders, read once per batch:
    the last message sent to each number, keyword commands, matching people, plugin registrations.
    Collects the row updates and plugin invocations, written by `flush()` in two statements."""

    def __init__(self, organization, messages: list[InboundMessage]):
        from entities.models import ENTITY_MODELS

        self.organization = organization
        numbers = sorted({m.originator for m in messages if m.originator})
        self.last_sent = self._last_sent(messages)
        self.commands = {c.keyword: c for c in KeywordCommand.objects.filter(organization=organization, is_active=True)}
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
            qs = model.objects.raw(
                f"SELECT *, phone AS phone_text FROM {table} "  # noqa: S608 — identifiers from the model
                f"WHERE organization_id = %s AND phone IN ({', '.join(['%s'] * len(phones))})",
                [model._meta.get_field("organization").get_db_prep_value(organization.id, connection), *phones],
            )
            if entity_type in related:
                qs = qs.prefetch_related(related[entity_type])  # BioT `_referencers` / `patients` in the payload
            for person in qs:
                person.organization = organization  # filtered by it; saves a query per payload
                self.people[person.phone_text].append(person)
        self._registrations = None
        self.updated: list[InboundMessage] = []
        self.invocations: list = []

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

    def registrations(self):
        if self._registrations is None:
            from plugins.registrations import registrations_enabled

            self._registrations = registrations_enabled(organization_id=self.organization.id)
        return self._registrations

    def flush(self) -> None:
        from plugins.invocations import invocations_save

        _routed_save(self.updated)
        invocations_save(self.invocations)
        self.updated, self.invocations = [], []


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
    table = connection.ops.quote_name(InboundMessage._meta.db_table)
    types = (
        "uuid",
        "varchar",
        "varchar",
        "timestamptz",
        "varchar",
        "varchar",
        "uuid",
        "uuid",
        "varchar",
        "timestamptz",
    )
    row = "(" + ", ".join(f"%s::{t}" for t in types) + ")"
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
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS m SET status = v.status, failure_reason = v.failure_reason, "  # noqa: S608
            "processed_at = v.processed_at, command = v.command, entity_type = v.entity_type, "
            "entity_id = v.entity_id, in_reply_to_id = v.in_reply_to_id, "
            "previous_published_message_id = v.ppmid, updated_at = v.updated_at "
            f"FROM (VALUES {', '.join([row] * len(messages))}) AS v(id, status, failure_reason, processed_at, "
            "command, entity_type, entity_id, in_reply_to_id, ppmid, updated_at) WHERE m.id = v.id",
            params,
        )


def _route(message: InboundMessage, context: RoutingContext) -> None:
    from plugins.invocations import invocations_for_incoming

    organization = message.organization
    now = timezone.now()
    message.updated_at = now
    context.updated.append(message)
    _correlate(message, context.last_sent.get(message.pk))
    words = normalize_words(message.text)
    whole = " ".join(words)
    message.status, message.processed_at = Status.PROCESSED, now

    if message.originator.startswith("+") and whole:
        for kind in ("opt_out", "opt_in", "help"):
            if whole in organization.keywords(kind):
                _run_builtin_command(message, kind)
                return

    command = context.commands.get(words[0]) if words else None
    if command is not None:
        message.command = f"keyword:{command.keyword}"[:40]
        if command.action in (KeywordCommand.Action.REPLY, KeywordCommand.Action.REPLY_AND_PLUGINS):
            _reply(message, command.reply_text)
        if command.action in (KeywordCommand.Action.REPLY, KeywordCommand.Action.IGNORE):
            return

    if not message.originator.startswith("+"):
        message.status, message.failure_reason = Status.FAILED, Reason.INVALID_SENDER
        return
    found = context.people.get(message.originator, [])
    if len(found) != 1:
        message.status = Status.FAILED
        message.failure_reason = Reason.NO_ENTITY if not found else Reason.MULTIPLE_ENTITIES
        logger.info(
            "inbound sender not matched",
            extra={
                "inbound": str(message.id),
                "reason": message.failure_reason,
                "phone": phone_ref(message.originator),
            },
        )
        return
    entity = found[0]
    message.entity_type, message.entity_id = entity.entity_type, entity.id
    names = (
        [command.plugin_name] if command is not None and command.action == KeywordCommand.Action.PLUGIN_ONLY else None
    )
    context.invocations.extend(
        invocations_for_incoming(message=message, entity=entity, registrations=context.registrations(), names=names)
    )


def _correlate(message: InboundMessage, last: OutboundMessage | None) -> None:
    """inboundMessageId: the last message the organization sent to this number (not its own
    automatic command replies), unchanged by further replies until a new SMS is sent."""
    message.in_reply_to = last
    if not message.previous_published_message_id and last is not None:
        message.previous_published_message_id = last.provider_message_id or ""


def _run_builtin_command(message: InboundMessage, kind: str) -> None:
    organization = message.organization
    message.command = kind
    if kind == "opt_out":
        if OptOut.objects.filter(organization=organization, phone_number=message.originator).exists():
            return  # already opted out: no second confirmation (FCC: at most one)
        # The one confirmation STOP gets (checked above: not already opted out).
        _reply(message, organization.opt_out_confirmation, ignore_opt_out=True)
        OptOut.objects.get_or_create(
            organization=organization,
            phone_number=message.originator,
            defaults={"method": OptOut.Method.KEYWORD, "inbound_message": message},
        )
        logger.info("opt-out recorded", extra={"inbound": str(message.id), "phone": phone_ref(message.originator)})
    elif kind == "opt_in":
        deleted, _ = OptOut.objects.filter(organization=organization, phone_number=message.originator).delete()
        if deleted:
            _reply(message, organization.opt_in_confirmation)
            logger.info("opt-in recorded", extra={"inbound": str(message.id), "phone": phone_ref(message.originator)})
    elif kind == "help":
        _reply(message, organization.help_text, ignore_opt_out=True)  # CTIA: HELP is always answered


def _reply(message: InboundMessage, text: str, *, ignore_opt_out: bool = False) -> None:
    """An automatic answer (source=system), through the gateway that received the message when it can send."""
    from messaging.exceptions import MessageRejected
    from messaging.services.outbound import messages_queue

    if not text:
        return
    gateway = message.gateway
    if gateway is not None and (not gateway.is_active or gateway.organization_id != message.organization_id):
        gateway = None
    try:
        messages_queue(
            organization=message.organization,
            recipients=[message.originator],
            body=text,
            source=OutboundMessage.Source.SYSTEM,
            gateway=gateway,
            ignore_opt_out=ignore_opt_out,
        )
    except MessageRejected as exc:
        logger.warning("automatic reply not queued", extra={"inbound": str(message.id), "reason": exc.code})


def inbound_sweep() -> dict[str, int]:
    """Route messages whose routing request was lost (Redis down, worker killed). Run by beat."""
    stale = timezone.now() - timedelta(seconds=settings.SMSPORTAL_INBOUND_ROUTE_TIMEOUT_SECONDS)
    pending = InboundMessage.objects.filter(status=Status.RECEIVED, created_at__lt=stale).count()
    if pending:
        inbound_route_request()
    return {"pending": pending}


def inbound_delete(*, organization, ids: list) -> int:
    """DHIS2 DELETE: remove the organization's inbound messages with these ids; unknown ids ignored."""
    valid = []
    for raw in ids:
        try:
            valid.append(uuid.UUID(str(raw)))
        except ValueError:
            continue
    qs = InboundMessage.objects.filter(organization=organization, pk__in=valid)
    count = qs.count()
    qs.delete()
    return count


def delivery_status_changed(*, message: OutboundMessage, previous_status: str) -> None:
    """A delivery report moved an outbound message: tell open portal pages and `_smsStatus` plugins."""
    from messaging.live import publish
    from plugins.invocations import plugins_invoke_status

    publish(
        organization_id=message.organization_id,
        event="outbound.status",
        data={"id": str(message.id), "status": message.status, "previousStatus": previous_status},
    )
    # No transaction of our own: with no `_smsStatus` plugin this is one read (no write lock).
    plugins_invoke_status(message=message, previous_status=previous_status)
