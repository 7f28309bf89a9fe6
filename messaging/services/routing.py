"""Routing: one run per pending batch claims `received` rows and routes them.

`inbound_route_request()` asks for one routing run per pending batch (Redis SET NX), like the
outbound dispatcher, so the webhook path does not pay a broker publish per request: it wakes the
routing process (`manage.py route_replies`, services/router.py) when one is alive, in the same
round trip, and publishes a Celery task otherwise.
`inbound_route()` / `inbound_route_batch()` lock `received` rows (SKIP LOCKED), and in one
transaction: link the last message sent to that number, run opt-out/opt-in/help and keyword
commands (commands.py), find the sender (exactly one entity), create one plugin invocation per
matching registration and mark the row `processed` or `failed` with a reason. A crash rolls
everything back; the row stays `received` and the sweeper routes it again.
"""

import logging
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from entities.consent import programs_of
from entities.models import Organization
from messaging.live import publish_many
from messaging.models import InboundMessage, KeywordCommand
from messaging.services.commands import builtin_command_run, correlate, normalize_words, reply
from messaging.services.keywords import command_match
from messaging.services.routing_context import RoutingContext
from smsportal.db import rows_as
from smsportal.enqueue import enqueue, followups_held
from smsportal.flags import Flag, Raised
from smsportal.localcache import LocalCache
from smsportal.logging import phone_ref
from smsportal.redis import get_redis

logger = logging.getLogger(__name__)
Status = InboundMessage.Status
Reason = InboundMessage.FailureReason

ROUTE_PENDING = Flag("smsportal:inbound:route-pending", 5)  # a routing run is published (smsportal/flags.py)
ROUTE_BATCH = 50
ROUTE_TASK = "messaging.tasks.inbound_route_task"  # by name: messaging/tasks.py imports this module
# The routing process (services/router.py) blocks on this list, and keeps the key below up while it runs.
ROUTER_WAKE = "smsportal:inbound:router-wake"
ROUTER_ALIVE = "smsportal:inbound:router-alive"


def inbound_route_request() -> None:
    """Make sure a routing run will pick up what was just committed (one publish per pending run)."""
    client = get_redis()
    if client is None or settings.CELERY_TASK_ALWAYS_EAGER:
        enqueue(ROUTE_TASK)
        return
    try:
        if ROUTE_PENDING.raise_waking(client, wake_list=ROUTER_WAKE, alive_key=ROUTER_ALIVE) is Raised.NOBODY_AWAKE:
            enqueue(ROUTE_TASK)
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
            ROUTE_PENDING.clear(client)  # before reading: a later commit publishes a new run
        except Exception:  # noqa: BLE001
            logger.warning("route-pending flag not cleared", exc_info=True)
    routed = 0
    for _ in range(max_batches):
        with followups_held() as followups:
            count = inbound_route_batch(limit=batch)
            # Nothing more waiting: this run makes the batch's first plugin calls itself (after the
            # commit) instead of publishing them — one Celery hop per reply at low rates, not two.
            # Any further chunks are published first, so other workers call them meanwhile. With
            # more waiting, every chunk is published and the run goes on routing.
            followups.run_here = 1 if count < batch else 0
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
            messages = _claim(limit)
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
        if not messages:
            raise  # nothing claimed: the database failed, not a row; the caller's run fails (and may retry)
        logger.exception("batch routing failed; routing one by one")
        ids = [m.id for m in messages]
        return sum(inbound_route(message_id=i) is not None for i in ids)


def _claim(limit: int) -> list[InboundMessage]:
    """Lock up to `limit` received messages, oldest first, skipping those another run holds. Not
    the gateway: only an automatic reply needs it (loaded then), and joining it decrypted its
    secrets once per message. Written out on PostgreSQL: compiling the ORM's locking SELECT was a
    tenth of a routing run of one reply."""
    if connection.vendor != "postgresql":
        return list(
            InboundMessage.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Status.RECEIVED)
            .order_by("created_at")[:limit]
        )
    table = connection.ops.quote_name(InboundMessage._meta.db_table)
    sql = f"SELECT * FROM {table} WHERE status = %s ORDER BY created_at LIMIT %s FOR UPDATE SKIP LOCKED"  # noqa: S608
    return rows_as(InboundMessage, sql, [Status.RECEIVED, limit])


_organizations = LocalCache("routing-organization")


def organization_get(*, organization_id):
    """An organization by id, kept per process for SMSPORTAL_LOCAL_CACHE_SECONDS (saving one clears
    it): joining it to every claimed batch compiled its many columns each time. Read-only."""
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


def _route(message: InboundMessage, context: RoutingContext) -> None:
    organization = message.organization
    now = timezone.now()
    message.updated_at = now
    context.updated.append(message)
    correlate(message, context.last_sent.get(message.pk))
    words = normalize_words(message.text)
    message.status, message.processed_at = Status.PROCESSED, now
    found = context.people.get(message.originator, []) if message.originator.startswith("+") else []
    if len(found) == 1:
        # Known before any command runs: a keyword or opt-out reply from a patient is still theirs.
        message.entity_type, message.entity_id = found[0].entity_type, found[0].id

    if message.originator.startswith("+") and words:
        programs = programs_of(organization.pk)
        builtin = command_match(words, organization=organization, programs=programs)
        if builtin is not None:
            people = context.people.get(message.originator, [])
            builtin_command_run(message, builtin, people=people, programs=programs)
            return

    command = context.commands.get(words[0]) if words else None
    if command is not None:
        message.command = f"keyword:{command.keyword}"[:40]
        if command.action in (KeywordCommand.Action.REPLY, KeywordCommand.Action.REPLY_AND_PLUGINS):
            reply(message, command.reply_text)
        if command.action in (KeywordCommand.Action.REPLY, KeywordCommand.Action.IGNORE):
            return

    if not message.originator.startswith("+"):
        message.status, message.failure_reason = Status.FAILED, Reason.INVALID_SENDER
        return
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
    names = (
        [command.plugin_name] if command is not None and command.action == KeywordCommand.Action.PLUGIN_ONLY else None
    )
    for listener in context.listeners:
        listener.matched(message=message, entity=entity, names=names)


def inbound_sweep() -> dict[str, int]:
    """Route messages whose routing request was lost (Redis down, worker killed). Run by beat."""
    stale = timezone.now() - timedelta(seconds=settings.SMSPORTAL_INBOUND_ROUTE_TIMEOUT_SECONDS)
    pending = InboundMessage.objects.filter(status=Status.RECEIVED, created_at__lt=stale).count()
    if pending:
        inbound_route_request()
    return {"pending": pending}
