"""The outbound pipeline: accept → queue (outbox rows) → dispatch → claim → send → record.

Rows are committed before any task is enqueued; a task only carries ids. Every provider call
happens outside a transaction, after a conditional claim, so a redelivered task never sends a
message twice. See docs/architecture.md for the state machine and failure handling.
"""

import contextlib
import logging
import random
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import cached_property, lru_cache

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F, Q, prefetch_related_objects
from django.utils import timezone

from gateways.exceptions import GatewayAmbiguousError, GatewayRejectedError, GatewayTemporaryError
from gateways.parking import status_unpark
from gateways.providers import get_adapter
from gateways.providers.base import OutboundSms, SendResult, StatusUpdate
from gateways.routing import (
    gateway_failure_note,
    gateway_is_down,
    gateway_success_note,
    gateway_usable_fallback,
    send_batch_paced,
)
from gateways.selectors import gateway_for_send, gateway_sender_for, gateway_senders
from messaging.exceptions import MessageRejected, NoGatewayConfigured
from messaging.models import OptOut, OutboundMessage
from messaging.phones import InvalidPhoneNumber, country_of, to_e164
from messaging.text import text_info
from smsportal.db import execute_hot
from smsportal.redact import stored_error
from smsportal.redis import get_redis

logger = logging.getLogger(__name__)
Status = OutboundMessage.Status

OPTED_OUT = "opted out"
DISPATCH_PENDING_KEY = "smsportal:outbound:dispatch-pending"
MAX_RECIPIENTS_PER_CALL = 200  # DHIS2 partitions recipient lists in slices of at most 200
DISPATCH_RUN_SECONDS = 20.0  # one dispatch run stops after this and asks for a new run


@dataclass
class QueueResult:
    """What an accepted send produced: one row per recipient, refused ones included.

    `stored` lists (id, recipient, status) per stored message; `messages` builds the model
    instances on first use only (10,000 instances cost more than storing their rows).
    """

    refused: list[tuple[str, str]] = field(default_factory=list)  # (recipient as given, reason)
    batch_id: uuid.UUID | None = None
    columns: list[str] = field(default_factory=list, repr=False)
    rows: list[list] = field(default_factory=list, repr=False)

    @property
    def stored(self) -> list[tuple[uuid.UUID, str, str]]:
        i_id, i_recipient, i_status = (self.columns.index(c) for c in ("id", "recipient", "status"))
        return [(row[i_id], row[i_recipient], row[i_status]) for row in self.rows]

    @cached_property
    def messages(self) -> list[OutboundMessage]:
        return [OutboundMessage.from_db("default", self.columns, row) for row in self.rows]


def body_validate(*, body: str, max_length: int | None = None, field_name: str = "message") -> tuple[str, int]:
    """Encoding and segment count of a body, or MessageRejected naming `field_name`."""
    if not body or not body.strip():
        raise MessageRejected("Message must be specified", field=field_name, code="required")
    if "\x00" in body:
        raise MessageRejected("message contains a NUL character", field=field_name)
    if max_length and len(body) > max_length:
        raise MessageRejected(
            "Sms text message is too long",
            field=field_name,
            code="too_long",
            detail=f"{len(body)} characters, the limit is {max_length}",
        )
    info = text_info(body)
    if info.segments > settings.SMSPORTAL_MAX_SEGMENTS:
        raise MessageRejected(
            f"message needs {info.segments} segments ({info.encoding}); the limit is {settings.SMSPORTAL_MAX_SEGMENTS}",
            field=field_name,
            code="too_long",
        )
    return info.encoding, info.segments


def opted_out_numbers(*, organization, numbers: list[str]) -> set[str]:
    """The numbers of the list that opted out of this organization's messages."""

    if not numbers:
        return set()
    if connection.vendor == "postgresql":
        # Raw: this runs on every send. The numbers go as one comma-separated text (E.164 has no
        # commas), which psycopg sends far faster than an array of thousands of strings.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT phone_number FROM {OptOut._meta.db_table} "  # noqa: S608
                "WHERE organization_id = %s AND phone_number = ANY(string_to_array(%s, ','))",
                [organization.pk, ",".join(numbers)],
            )
            return {row[0] for row in cursor.fetchall()}
    return set(
        OptOut.objects.filter(organization=organization, phone_number__in=numbers).values_list(
            "phone_number", flat=True
        )
    )


# Held in the organization's quiet hours (messages_queue). Dose reminders (schedule) and system
# messages (command replies, opt-out confirmations) go out at once.
QUIET_HOURS_SOURCES = frozenset({"biot_api", "dhis2_api", "portal"})


def messages_queue(
    *,
    organization,
    recipients: list[str],
    body: str,
    source: str,
    gateway=None,
    subject: str = "",
    idempotency_key: str = "",
    refuse_opted_out: bool = False,
    strict_numbers: bool = True,
    max_length: int | None = None,
    max_length_default: int | None = None,
    require_one: bool = False,
    ignore_opt_out: bool = False,
    not_before=None,
) -> QueueResult:
    """Validate and store one message per recipient, then ask for dispatch after commit.

    Recipients that cannot be messaged (invalid number, opted out) are stored `failed` with the
    reason, so every recipient of a request can be followed. With `refuse_opted_out`, an
    opted-out recipient raises instead (single-send APIs answer 4xx). With `require_one`, a
    request in which no recipient is a valid number is refused ("no recipient") and stores nothing.
    The length limit is `max_length`, else the gateway's, else `max_length_default`.
    `ignore_opt_out` is only for the answers the rules require even to an opted-out number (CTIA:
    HELP is always answered; the one STOP confirmation) — never for anything else.
    `not_before` holds the rows (queued, `next_attempt_at`) until then; API and portal sends made in
    the organization's quiet hours are held until they end (dose reminders and system replies are not).
    """
    if not_before is None and source in QUIET_HOURS_SOURCES:
        not_before = organization.quiet_hours_release()
    # One recipient is one INSERT: autocommit spares the hot single-send path the BEGIN and
    # COMMIT round trips. Several recipients are written in one transaction (all or nothing).
    context = transaction.atomic() if len(recipients) > 1 else contextlib.nullcontext()
    with context:
        gateway = gateway or gateway_for_send(organization=organization)
        if gateway is None:
            raise NoGatewayConfigured()
        encoding, segments = body_validate(
            body=body, max_length=max_length or gateway.max_sms_length or max_length_default
        )
        result = QueueResult(batch_id=uuid.uuid4())
        now = timezone.now()
        # A prototype row carries every default; each recipient's row differs in a few columns only.
        prototype = {
            "organization_id": organization.pk,
            "batch_id": result.batch_id,
            "subject": subject,
            "body": body,
            "encoding": encoding,
            "segments": segments,
            "gateway_id": gateway.pk,
            "source": source,
            "idempotency_key": idempotency_key,
            "next_attempt_at": not_before,
            "created_at": now,
            "updated_at": now,
        }
        rows = _Rows(prototype, gateway=gateway, now=now)
        region = organization.default_region or None
        valid = _numbers_valid(recipients, region=region, strict=strict_numbers, result=result)
        if connection.vendor == "postgresql" and len(recipients) >= STREAM_THRESHOLD and not refuse_opted_out:
            # Large sends: the whole opt-out list in one query, then validation and row building
            # stream into COPY, so the database inserts one chunk while the next is validated.
            opted_out = set() if ignore_opt_out else opted_out_all(organization=organization)
            rows.copy_streaming(valid, opted_out, result)
        elif connection.vendor == "postgresql" and refuse_opted_out and len(recipients) == 1 and not ignore_opt_out:
            for number, given in valid:
                rows.add(number, given, set(), result)
            if rows.values and not rows.insert_unless_opted_out(organization):
                raise _opted_out_refusal()
        else:
            numbers = dict(valid)  # E.164 → as given
            opted_out = set()
            if numbers and not ignore_opt_out:
                opted_out = opted_out_numbers(organization=organization, numbers=list(numbers))
            if refuse_opted_out and opted_out:
                raise _opted_out_refusal()
            for number, given in numbers.items():
                rows.add(number, given, opted_out, result)
            rows.insert()
        if require_one and not rows.values:
            exc = MessageRejected("no recipient", field="recipients", code="no_recipient", status_code=409)
            exc.refused = [{"recipient": given, "reason": reason} for given, reason in result.refused]
            raise exc  # rolls back: a send without one valid recipient stores nothing
        result.columns, result.rows = rows.columns, rows.values
        if rows.queued:
            transaction.on_commit(dispatch_request)
        return result


COPY_THRESHOLD = 50  # rows; below this a plain INSERT is as fast
STREAM_THRESHOLD = 1000  # recipients; from here the org's whole opt-out list is cheaper than a lookup
COPY_CHUNK = 1000  # rows per write while streaming


def _opted_out_refusal() -> MessageRejected:
    return MessageRejected(
        "the recipient has opted out of messages from this organization",
        field="phoneNumber",
        code="opted_out",
        status_code=409,
    )


def _numbers_valid(recipients: list[str], *, region: str | None, strict: bool, result: QueueResult):
    """Yield (E.164, as given) once per distinct valid number; record the invalid ones as refused."""
    seen: set[str] = set()
    refused_given: set[str] = set()
    for raw in recipients:
        try:
            number = to_e164(raw, region=region, strict=strict)
        except InvalidPhoneNumber as exc:
            if raw not in refused_given:  # recipients are a set: one entry per number given
                refused_given.add(raw)
                result.refused.append((raw, str(exc)))
            continue
        if number not in seen:  # a set, like DHIS2
            seen.add(number)
            yield number, raw


def opted_out_all(*, organization) -> set[str]:
    return set(OptOut.objects.filter(organization=organization).values_list("phone_number", flat=True))


# Field types whose Python values (as messages_queue builds them: aware datetimes, UUIDs, str,
# int, bool, None) psycopg adapts as they are; get_db_prep_save() would return them unchanged.
_PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.UUIDField,
    models.DateTimeField,
    models.IntegerField,
    models.BooleanField,
    models.ForeignKey,
)


@lru_cache(maxsize=1)
def _layout() -> tuple[list, list[str], list[bool], list, str, str]:
    """The outbox table's fields, column names, which need preparing, the constant defaults, and
    quoted SQL names: the same for every send."""
    fields = list(OutboundMessage._meta.concrete_fields)
    plain = [isinstance(f, _PLAIN_FIELDS) for f in fields]
    # Callable defaults (the id) are set per row; every other default is a constant.
    defaults = [None if callable(f.default) else f.get_default() for f in fields]
    table = connection.ops.quote_name(OutboundMessage._meta.db_table)
    names = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    return fields, [f.attname for f in fields], plain, defaults, table, names


class _Rows:
    """The outbox rows of one send, as column values in model field order."""

    def __init__(self, prototype: dict, *, gateway, now):
        self.fields, self.columns, self.plain, defaults, self.table, self.names = _layout()
        self.base = [prototype.get(name, default) for name, default in zip(self.columns, defaults, strict=True)]
        index = {name: i for i, name in enumerate(self.columns)}
        self.i_id, self.i_recipient, self.i_sender = index["id"], index["recipient"], index["sender"]
        self.failed = [(index["status"], Status.FAILED), (index["error_reason"], OPTED_OUT)]
        self.failed += [(index["failed_at"], now), (index["result_code"], "FAILED")]
        self.gateway = gateway
        # One query for the gateway's local numbers, not one per recipient; without local numbers
        # every recipient gets the gateway's configured sender (no country lookup per number).
        if "inbound_numbers" not in getattr(gateway, "_prefetched_objects_cache", {}):
            prefetch_related_objects([gateway], "inbound_numbers")
        self.local_senders = gateway_senders(gateway, organization_id=prototype["organization_id"])
        self.default_sender = gateway.config.get("from", "") or ""
        self.values: list[list] = []
        self.queued = 0
        self._templates: dict[bool, list[str]] = {}  # COPY text of a queued row and of an opted-out one

    def add(self, number: str, given: str, opted_out: set[str], result: QueueResult) -> list:
        row = self.base.copy()
        row[self.i_id] = uuid.uuid4()
        row[self.i_recipient] = number
        if self.local_senders:  # as gateway_sender_for(), with the map built once per send
            row[self.i_sender] = self.local_senders.get(country_of(number)) or self.default_sender
        else:
            row[self.i_sender] = self.default_sender
        if number in opted_out:
            for i, value in self.failed:
                row[i] = value
            result.refused.append((given, OPTED_OUT))
        else:
            self.queued += 1
        self.values.append(row)
        return row

    def _params(self, row: list) -> list:
        prepared = zip(self.fields, self.plain, row, strict=True)
        return [v if plain else f.get_db_prep_save(v, connection) for f, plain, v in prepared]

    def insert_unless_opted_out(self, organization) -> bool:
        """PostgreSQL, one row: INSERT it only if its number has not opted out, in one statement
        (the single-send APIs' check and insert in one round trip). False when opted out.

        The busiest statement of the API, so a prepared one (smsportal/db.py).
        """
        (row,) = self.values
        placeholders = ", ".join(["%s"] * len(self.fields))
        sql = (
            f"INSERT INTO {self.table} ({self.names}) SELECT {placeholders} "  # noqa: S608
            f"WHERE NOT EXISTS (SELECT 1 FROM {OptOut._meta.db_table} WHERE organization_id = %s AND phone_number = %s)"
        )
        rowcount, _ = execute_hot(sql, [*self._params(row), organization.pk, row[self.i_recipient]])
        inserted = rowcount == 1
        if not inserted:
            self.values.clear()
            self.queued = 0
        return inserted

    def insert(self) -> None:
        """PostgreSQL: COPY from COPY_THRESHOLD rows, else one raw INSERT (the ORM's INSERT compiler
        costs more CPU than the statement itself on the single-send path). Others: the ORM."""
        if not self.values:
            return
        if connection.vendor == "postgresql":
            if len(self.values) >= COPY_THRESHOLD:
                self._copy([self.values])
                return
            values = ", ".join(["(" + ", ".join(["%s"] * len(self.fields)) + ")"] * len(self.values))
            params = [p for row in self.values for p in self._params(row)]
            with connection.cursor() as cursor:
                cursor.execute(f"INSERT INTO {self.table} ({self.names}) VALUES {values}", params)  # noqa: S608
            return
        instances = [OutboundMessage.from_db("default", self.columns, row) for row in self.values]
        if len(instances) == 1:
            # save() inserts without bulk_create's own transaction (no BEGIN/COMMIT in autocommit).
            instances[0]._state.adding = True
            instances[0].save(force_insert=True)
            return
        OutboundMessage.objects.bulk_create(instances, batch_size=1000)

    def copy_streaming(self, numbers, opted_out: set[str], result: QueueResult) -> None:
        """Build rows from `numbers` as they are validated and COPY them in chunks: the database
        (the other core) inserts one chunk while this process validates the next."""

        def chunks():
            chunk: list[list] = []
            for number, given in numbers:
                chunk.append(self.add(number, given, opted_out, result))
                if len(chunk) == COPY_CHUNK:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk

        self._copy(chunks())

    def _copy(self, chunks) -> None:
        sql = f"COPY {self.table} ({self.names}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for chunk in chunks:
                copy.write(self._copy_lines(chunk))

    def _copy_lines(self, rows: list[list]) -> str:
        """Rows in COPY's text format. Only id, recipient and sender differ from row to row (plus
        the failure columns of opted-out rows): every other value is converted once per send, not
        once per row as psycopg's write_row would (that was most of accepting 10,000 recipients)."""
        i_status, i_id, i_recipient, i_sender = self.failed[0][0], self.i_id, self.i_recipient, self.i_sender
        lines = []
        for row in rows:
            failed = row[i_status] == Status.FAILED
            template = self._templates.get(failed)
            if template is None:
                prepared = [f.get_db_prep_save(v, connection) for f, v in zip(self.fields, row, strict=True)]
                template = self._templates[failed] = [_copy_text(v) for v in prepared]
            line = template.copy()
            line[i_id] = str(row[i_id])
            line[i_recipient] = row[i_recipient]  # E.164: digits and "+", nothing to escape
            line[i_sender] = _copy_text(row[i_sender])
            lines.append("\t".join(line))
        return "\n".join(lines) + "\n"


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value) -> str:
    """One value in COPY's text format, as the column's get_db_prep_save() prepared it."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, str):
        return value.translate(_COPY_ESCAPES)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID | int | float | Decimal):
        return str(value)
    if hasattr(value, "obj") and hasattr(value, "dumps"):  # psycopg Json/Jsonb, as JSONField prepares it
        return value.dumps(value.obj).translate(_COPY_ESCAPES)
    raise TypeError(f"no COPY text form for {type(value).__name__}")


# SET the pending flag to our run's start time unless a run is pending; else return that run's
# start time. One round trip, atomic (works on every Redis version with Lua).
_FLAG_OR_ETA = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return false end
return redis.call('GET', KEYS[1])
"""
ETA_MARGIN_SECONDS = 0.05  # clock differences between web and worker hosts
_known_read_after = threading.local()


def dispatch_request() -> None:
    """Make sure a dispatch run will read the queue after what was just committed.

    One broker publish per pending run, not per request: the pending flag in Redis holds the start
    time (ETA) of the run that will next read the queue, and the dispatcher clears it before it
    reads. Setting it publishes a run; finding it set means a run will read at or after that ETA,
    so until shortly before it, rows committed in this thread need no Redis call at all (the
    single-send path would otherwise pay one per request). Without Redis the task runs inline.
    """
    from messaging.tasks import outbound_dispatch_task

    client = get_redis()
    if client is None or settings.CELERY_TASK_ALWAYS_EAGER:
        outbound_dispatch_task.delay()
        return
    now = time.time()
    if now < getattr(_known_read_after, "eta", 0.0) - ETA_MARGIN_SECONDS:
        return
    delay = settings.SMSPORTAL_DISPATCH_DELAY
    eta = now + delay
    try:
        pending = client.eval(_FLAG_OR_ETA, 1, DISPATCH_PENDING_KEY, repr(eta), 5)
        if pending is None:
            outbound_dispatch_task.apply_async(countdown=delay or None)
        else:
            eta = float(pending)
        _known_read_after.eta = eta
    except Exception:
        # Redis or the broker is down: the rows are committed; the sweeper dispatches them later.
        logger.warning("dispatch request not published; the sweeper will pick the messages up", exc_info=True)


def outbound_dispatch() -> int:
    """Reserve queued messages and enqueue one delivery task per gateway batch. Returns the count."""
    from messaging.tasks import outbound_deliver_task

    client = get_redis()
    if client is not None:
        client.delete(DISPATCH_PENDING_KEY)
    total = 0
    deadline = time.monotonic() + DISPATCH_RUN_SECONDS
    while True:
        if time.monotonic() > deadline:
            # Bounded: under a steady stream a single run never ends; hand over to a fresh run.
            dispatch_request()
            return total
        now = timezone.now()
        with transaction.atomic():
            due = (
                OutboundMessage.objects.select_for_update(skip_locked=True)
                .filter(status=Status.QUEUED, dispatched_at__isnull=True)
                .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                .order_by("created_at")
                .values_list("id", "gateway_id")[: settings.SMSPORTAL_DISPATCH_BATCH]
            )
            rows = list(due)
            if not rows:
                return total
            OutboundMessage.objects.filter(id__in=[r[0] for r in rows]).update(dispatched_at=now)
        by_gateway: dict = defaultdict(list)
        for message_id, gateway_id in rows:
            by_gateway[gateway_id].append(str(message_id))
        for gateway_id, ids in by_gateway.items():
            size = _task_batch_size(gateway_id)
            for start in range(0, len(ids), size):
                outbound_deliver_task.delay(ids[start : start + size])
        total += len(rows)
        if len(rows) < settings.SMSPORTAL_DISPATCH_BATCH:
            # Drained. Rows committed from now on request a new run (the flag was cleared), which
            # starts after SMSPORTAL_DISPATCH_DELAY and so gathers a trickle of single sends into
            # one batch instead of one delivery task each.
            return total


def _task_batch_size(gateway_id) -> int:
    from gateways.models import Gateway

    gateway = Gateway.objects.filter(pk=gateway_id).first()
    if gateway is None:
        return 100
    caps = get_adapter(gateway).capabilities
    # One-per-request providers still get 100 per task: per-task overhead dominates (docs/performance.md).
    # Batching providers get at most 200 per call, DHIS2's MAX_RECIPIENTS_ALLOWED.
    return min(caps.max_batch_size, MAX_RECIPIENTS_PER_CALL) if caps.max_batch_size > 1 else 100


@dataclass
class RetryPlan:
    message_ids: list[str]
    countdown: float


def outbound_deliver(*, message_ids: list[str]) -> RetryPlan | None:
    """Claim, send and record a batch of messages of one gateway.

    Returns the messages to try again later (temporary failure) and after how long.
    """
    token = uuid.uuid4()
    now = timezone.now()
    claimed = (
        OutboundMessage.objects.filter(id__in=message_ids, status=Status.QUEUED, provider_message_id__isnull=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + timedelta(seconds=1)))
        # send_started_at is cleared so the sweeper can tell "this attempt never called the provider"
        # from an earlier attempt's mark.
        .update(
            status=Status.SENDING,
            claim_token=token,
            claimed_at=now,
            send_started_at=None,
            attempts=F("attempts") + 1,
        )
    )
    if not claimed:
        return None  # already sent, being sent, or not due: a redelivered task is harmless
    messages = list(OutboundMessage.objects.filter(id__in=message_ids, claim_token=token))
    _gateways_attach(messages)
    plans = [_deliver_for_gateway(gateway_messages) for gateway_messages in _group_by_gateway(messages)]
    retry_ids = [i for p in plans if p for i in p.message_ids]
    if not retry_ids:
        return None
    return RetryPlan(retry_ids, max(p.countdown for p in plans if p))


def _gateways_attach(messages: list[OutboundMessage]) -> None:
    """Load each gateway once (not per row: select_related would decrypt its secrets 200 times)."""
    from gateways.models import Gateway

    gateways = Gateway.objects.in_bulk({m.gateway_id for m in messages if m.gateway_id})
    for m in messages:
        m.gateway = gateways.get(m.gateway_id)


def _group_by_gateway(messages: list[OutboundMessage]) -> list[list[OutboundMessage]]:
    groups: dict = defaultdict(list)
    for m in messages:
        groups[m.gateway_id].append(m)
    return list(groups.values())


def _deliver_for_gateway(messages: list[OutboundMessage]) -> RetryPlan | None:
    gateway = messages[0].gateway
    if gateway is None or not gateway.is_active:
        return _retry_or_fail(messages, reason="gateway unavailable", result_code="FAILED")
    if gateway_is_down(gateway) and (fallback := gateway_usable_fallback(gateway)) is not None:
        # Marked down: its messages go to the fallback without calling it (never sent, so safe).
        _reroute_to_fallback(messages, fallback, reason="gateway marked down")
        return None
    adapter = get_adapter(gateway)
    batch = [OutboundSms(reference=str(m.id), to=m.recipient, text=m.body, sender=m.sender) for m in messages]
    OutboundMessage.objects.filter(id__in=[m.id for m in messages]).update(send_started_at=timezone.now())
    try:
        results = send_batch_paced(adapter, batch)
    except GatewayTemporaryError as exc:
        _gateway_note(gateway, error=str(exc))
        gateway_failure_note(gateway)
        return _retry_or_fail(messages, reason=str(exc), result_code=exc.result_code, retry_after=exc.retry_after)
    except GatewayRejectedError as exc:
        _gateway_note(gateway, error=str(exc))
        _messages_fail(messages, reason=str(exc), result_code=exc.result_code)
        return None
    except (GatewayAmbiguousError, Exception) as exc:  # noqa: BLE001 — an adapter bug must not lose messages
        logger.warning(
            "ambiguous send; messages marked unknown", extra={"gateway": gateway.uid, "count": len(messages)}
        )
        _gateway_note(gateway, error=f"ambiguous: {type(exc).__name__}")
        OutboundMessage.objects.filter(id__in=[m.id for m in messages]).update(
            status=Status.UNKNOWN,
            unknown_at=timezone.now(),
            error_reason=f"provider outcome unknown ({type(exc).__name__}); reconciling"[:300],
        )
        return None
    return _results_record(messages, results, gateway)


def _results_record(messages: list[OutboundMessage], results: list[SendResult], gateway) -> RetryPlan | None:
    by_ref = {r.reference: r for r in results}
    now = timezone.now()
    sent, failed, temporary = [], [], []
    for m in messages:
        r = by_ref.get(str(m.id))
        if r is None:
            # The provider answered without this message: it may or may not have it.
            m.status, m.error_reason = Status.UNKNOWN, "provider response did not include this message"
            m.unknown_at = now
            failed.append(m)
        elif r.accepted:
            m.status, m.provider_message_id, m.result_code, m.sent_at = (
                Status.SENT,
                r.provider_message_id or None,
                r.result_code,
                now,
            )
            m.error_reason = ""
            sent.append(m)
        elif r.temporary:
            m.result_code, m.provider_error_code = r.result_code, r.error[:64]
            temporary.append(m)
        else:
            m.status, m.result_code, m.provider_error_code, m.failed_at = (
                Status.FAILED,
                r.result_code,
                r.error[:64],
                now,
            )
            m.error_reason = stored_error(r.error or "rejected by provider")
            failed.append(m)
    fields = [
        "status",
        "provider_message_id",
        "result_code",
        "sent_at",
        "error_reason",
        "provider_error_code",
        "failed_at",
        "unknown_at",
    ]
    _sent_record(sent, now)
    OutboundMessage.objects.bulk_update(failed, fields, batch_size=500)
    # Reports that beat the ids' recording (fast providers) were parked by the webhook: apply them now.
    for update in status_unpark(gateway_id=gateway.pk, provider_message_ids=[m.provider_message_id for m in sent]):
        outbound_status_apply(gateway=gateway, update=update)
    if sent:
        _gateway_note(gateway, error="")
        gateway_success_note(gateway)
    if temporary:
        return _retry_or_fail(
            temporary,
            reason=temporary[0].provider_error_code or "temporary provider error",
            result_code=temporary[0].result_code,
        )
    return None


def _sent_record(sent: list[OutboundMessage], now) -> None:
    """Record a batch's accepted messages in one statement.

    Django's bulk_update builds a CASE per field and row, which costs ~10 ms per row in Python
    at 200 rows; on PostgreSQL one UPDATE … FROM (VALUES …) does the same (docs/performance.md).
    """
    if not sent:
        return
    if connection.vendor != "postgresql":
        fields = ["status", "provider_message_id", "result_code", "sent_at", "error_reason"]
        OutboundMessage.objects.bulk_update(sent, fields, batch_size=500)
        return
    table = connection.ops.quote_name(OutboundMessage._meta.db_table)
    by_code: dict[str, list[OutboundMessage]] = defaultdict(list)
    for m in sent:
        by_code[m.result_code].append(m)
    with connection.cursor() as cursor:
        for code, rows in by_code.items():
            values = ", ".join(["(%s::uuid, %s::varchar)"] * len(rows))
            params = [Status.SENT, code, now, *[p for m in rows for p in (str(m.id), m.provider_message_id)]]
            cursor.execute(
                f"UPDATE {table} AS m SET status = %s, result_code = %s, sent_at = %s, error_reason = '', "  # noqa: S608
                f"provider_message_id = v.pid FROM (VALUES {values}) AS v(id, pid) WHERE m.id = v.id",
                params,
            )


def _backoff(attempt: int) -> float:
    """Exponential backoff with full jitter: ~2s, 4s, 8s ... capped at 10 minutes."""
    return random.uniform(0.5, 1.0) * min(600.0, 2.0**attempt)


def _retry_or_fail(
    messages: list[OutboundMessage], *, reason: str, result_code: str, retry_after: float | None = None
) -> RetryPlan | None:
    now = timezone.now()
    retry, exhausted = [], []
    for m in messages:
        (retry if m.attempts < settings.SMSPORTAL_SEND_MAX_ATTEMPTS else exhausted).append(m)
    if exhausted:
        fallback = gateway_usable_fallback(exhausted[0].gateway) if exhausted[0].gateway else None
        if fallback is not None:
            _reroute_to_fallback(exhausted, fallback, reason=f"primary gateway failed: {reason}")
        else:
            _messages_fail(exhausted, reason=f"retries exhausted: {reason}", result_code=result_code)
    if not retry:
        return None
    delay = max(retry_after or 0.0, _backoff(max(m.attempts for m in retry)))
    OutboundMessage.objects.filter(id__in=[m.id for m in retry]).update(
        status=Status.QUEUED,
        claim_token=None,
        dispatched_at=now,
        result_code=result_code,
        next_attempt_at=now + timedelta(seconds=delay),
        error_reason=stored_error(f"retrying: {reason}"),
    )
    return RetryPlan([str(m.id) for m in retry], delay)


def _reroute_to_fallback(messages: list[OutboundMessage], fallback, *, reason: str) -> None:
    """Hand never-sent messages (no provider id) to the fallback gateway, counting attempts afresh.

    The `provider_message_id IS NULL` condition is what guarantees a message the primary
    accepted is never sent again by the fallback. The sender is re-chosen for the fallback's numbers.
    """
    by_sender: dict[str, list] = defaultdict(list)
    for m in messages:
        sender = gateway_sender_for(gateway=fallback, recipient=m.recipient, organization_id=m.organization_id)
        by_sender[sender].append(m.id)
    for sender, ids in by_sender.items():
        OutboundMessage.objects.filter(id__in=ids, provider_message_id__isnull=True).exclude(
            status__in=[Status.SENT, Status.DELIVERED, Status.UNDELIVERED, Status.UNKNOWN]
        ).update(
            status=Status.QUEUED,
            gateway=fallback,
            sender=sender,
            attempts=0,
            dispatched_at=None,
            next_attempt_at=None,
            claim_token=None,
            send_started_at=None,
            error_reason=reason[:300],
        )
    transaction.on_commit(dispatch_request)


def _messages_fail(messages: list[OutboundMessage], *, reason: str, result_code: str) -> None:
    OutboundMessage.objects.filter(id__in=[m.id for m in messages]).update(
        status=Status.FAILED, error_reason=stored_error(reason), result_code=result_code, failed_at=timezone.now()
    )


def _gateway_note(gateway, *, error: str) -> None:
    from gateways.models import Gateway

    now = timezone.now()
    if error:
        Gateway.objects.filter(pk=gateway.pk).update(last_error_at=now, last_error=stored_error(error, cap=500))
    elif gateway.last_success_at is None or (now - gateway.last_success_at).total_seconds() > 5:
        Gateway.objects.filter(pk=gateway.pk).update(last_success_at=now)


def outbound_sweep() -> dict[str, int]:
    """Recover what a lost task or a killed worker left behind. Run by beat every 30 s.

    - queued, reserved by a dispatch longer ago than the timeout and due → back to the dispatcher;
    - sending past the lease: re-queued when the provider call provably never started or the
      provider deduplicates on our reference; otherwise `unknown`, reconciled from delivery
      reports, never resent blindly.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.SMSPORTAL_QUEUED_TIMEOUT_SECONDS)
    requeued = (
        OutboundMessage.objects.filter(status=Status.QUEUED, dispatched_at__lt=stale)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=stale))
        .update(dispatched_at=None)
    )
    lease = now - timedelta(seconds=settings.SMSPORTAL_SEND_LEASE_SECONDS)
    abandoned = OutboundMessage.objects.filter(status=Status.SENDING, claimed_at__lt=lease)
    never_started = abandoned.filter(send_started_at__isnull=True).update(
        status=Status.QUEUED, dispatched_at=None, claim_token=None
    )
    safe_ids, unknown_ids = [], []
    for message in abandoned.select_related("gateway"):
        dedupes = message.gateway is not None and get_adapter(message.gateway).capabilities.dedupes_on_reference
        (safe_ids if dedupes else unknown_ids).append(message.id)
    OutboundMessage.objects.filter(id__in=safe_ids).update(status=Status.QUEUED, dispatched_at=None, claim_token=None)
    OutboundMessage.objects.filter(id__in=unknown_ids).update(
        status=Status.UNKNOWN,
        unknown_at=timezone.now(),
        error_reason="worker stopped during the provider call; reconciling from delivery reports",
    )
    counts = {"requeued": requeued + never_started + len(safe_ids), "unknown": len(unknown_ids)}
    if counts["requeued"] or OutboundMessage.objects.filter(status=Status.QUEUED, dispatched_at__isnull=True).exists():
        dispatch_request()
    return counts


def outbound_status_apply(*, gateway, update: StatusUpdate) -> OutboundMessage | None:
    """Apply a delivery report: forward-only, so late or repeated reports change nothing wrongly.

    The write is conditional on the status it was decided from (compare-and-set): two reports
    for one message arriving together cannot let the lower one overwrite the higher.
    """
    rank = OutboundMessage.RANK
    lookup = OutboundMessage.objects.filter(gateway=gateway, provider_message_id=update.provider_message_id)
    for _ in range(5):  # bounded: each retry follows another report's committed write
        message = lookup.first()
        if message is None:
            return None
        if rank.get(update.status, -1) <= rank[message.status] or message.status in OutboundMessage.FINAL:
            return message
        now = update.occurred_at or timezone.now()
        previous_status = message.status
        changed = {"status": update.status, "updated_at": timezone.now()}
        if update.status == Status.SENT and not message.sent_at:
            changed["sent_at"] = now
        if update.status == Status.DELIVERED:
            changed["delivered_at"] = now
        if update.status in (Status.FAILED, Status.UNDELIVERED):
            changed["failed_at" if update.status == Status.FAILED else "undelivered_at"] = now
            changed["provider_error_code"] = update.error_code[:64]
            changed["error_reason"] = stored_error(update.error_text or update.error_code or update.status)
        if not OutboundMessage.objects.filter(pk=message.pk, status=previous_status).update(**changed):
            continue  # another report moved it meanwhile: decide again from what it wrote
        for name, value in changed.items():
            setattr(message, name, value)
        from messaging.services.inbound import delivery_status_changed  # live event + `_smsStatus` plugins

        delivery_status_changed(message=message, previous_status=previous_status)
        return message
    return lookup.first()


def outbound_requeue_failed(*, message_ids: list) -> int:
    """Queue failed messages again (admin "retry"). Never one the provider accepted or an opted-out number."""
    candidates = OutboundMessage.objects.filter(id__in=message_ids, status=Status.FAILED, provider_message_id=None)
    opted_out = OptOut.objects.filter(
        organization_id__in=candidates.values("organization_id"), phone_number__in=candidates.values("recipient")
    ).values_list("organization_id", "phone_number")
    blocked = set(opted_out)
    ids = [pk for pk, org, number in candidates.values_list("id", "organization_id", "recipient")
           if (org, number) not in blocked]  # fmt: skip
    count = OutboundMessage.objects.filter(id__in=ids).update(
        status=Status.QUEUED,
        attempts=0,
        dispatched_at=None,
        next_attempt_at=None,
        claim_token=None,
        failed_at=None,
        error_reason="",
        result_code="",
    )
    if count:
        transaction.on_commit(dispatch_request)
    return count
