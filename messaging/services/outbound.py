"""The outbound pipeline, accepting side: validate → store outbox rows → request a dispatch.

Rows are committed before any task is enqueued; a task only carries ids. The rest of the
pipeline: dispatch.py (rows → delivery tasks), delivery.py (claim → send → record),
reconcile.py (sweeper, delivery reports, reconciler, resend). docs/reliability.md says what
each fault does to a message.
"""

import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from gateways.route_selectors import route_gateway, route_match, routes_for
from gateways.selectors import gateway_for_send, gateway_senders
from messaging.exceptions import MessageRejected, NoGatewayConfigured
from messaging.models import OptOut, OutboundMessage
from messaging.services.dispatch import dispatch_request
from messaging.services.expiry import valid_until_default
from messaging.services.send_rules import OPTED_OUT, refusal_error, refusals, send_rules
from messaging.text import text_info
from smsportal.db import copy_text, execute_hot
from smsportal.phones import InvalidPhoneNumber, country_of, to_e164

logger = logging.getLogger(__name__)
Status = OutboundMessage.Status


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
    valid_until=None,
    program=None,
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
    `program` (a consent program's slug or instance; else the program covering `source`, if any)
    adds its consent and per-program opt-outs, and the organization's exemption guard applies
    (send_rules.py); a refused recipient is stored `failed` with the reason, or raises with
    `refuse_opted_out`. An unknown program raises (400, field "program") and stores nothing.
    `valid_until`: not handed to a provider by then → expired (default: the source's validity, settings).
    Without an explicit `gateway`, each recipient goes through the organization's prefix routes
    (longest prefix wins; gateways/route_selectors.py), the default gateway being the `*` route.
    """
    if not_before is None and source in QUIET_HOURS_SOURCES:
        not_before = organization.quiet_hours_release()
    # One recipient is one INSERT: autocommit spares the hot single-send path the BEGIN and
    # COMMIT round trips. Several recipients are written in one transaction (all or nothing).
    context = transaction.atomic() if len(recipients) > 1 else contextlib.nullcontext()
    with context:
        # Before the gateway: an unknown program is the request's fault (400), whatever else is wrong.
        rules = send_rules(organization=organization, source=source, program=program)
        routes = () if gateway is not None else routes_for(organization.pk)
        gateway = gateway or gateway_for_send(organization=organization)
        if gateway is None:
            raise NoGatewayConfigured()
        encoding, segments = body_validate(
            body=body, max_length=max_length or gateway.max_sms_length or max_length_default
        )
        result = QueueResult(batch_id=uuid.uuid4())
        now = timezone.now()
        if valid_until is None:
            valid_until = valid_until_default(source=source, now=now)
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
            "valid_until": valid_until,
            "created_at": now,
            "updated_at": now,
        }
        rows = _Rows(prototype, gateway=gateway, now=now, routes=routes)
        region = organization.default_region or None
        valid = _numbers_valid(recipients, region=region, strict=strict_numbers, result=result)
        if rules is not None:
            # A program or the exemption guard: one statement answers every question for every
            # number (send_rules.refusals), then the rows are written as below (COPY from 50).
            numbers = dict(valid)
            refused = refusals(
                organization=organization, numbers=list(numbers), rules=rules, ignore_opt_out=ignore_opt_out
            )
            if refuse_opted_out and refused:
                raise refusal_error(next(iter(refused.values())))
            for number, given in numbers.items():
                rows.add(number, given, refused, result)
            rows.insert()
        elif connection.vendor == "postgresql" and len(recipients) >= STREAM_THRESHOLD and not refuse_opted_out:
            # Large sends: the whole opt-out list in one query, then validation and row building
            # stream into COPY, so the database inserts one chunk while the next is validated.
            opted_out = {} if ignore_opt_out else dict.fromkeys(opted_out_all(organization=organization), OPTED_OUT)
            rows.copy_streaming(valid, opted_out, result)
        elif connection.vendor == "postgresql" and refuse_opted_out and len(recipients) == 1 and not ignore_opt_out:
            for number, given in valid:
                rows.add(number, given, {}, result)
            if rows.values and not rows.insert_unless_opted_out(organization):
                raise _opted_out_refusal()
        else:
            numbers = dict(valid)  # E.164 → as given
            opted_out = {}
            if numbers and not ignore_opt_out:
                opted_out = dict.fromkeys(
                    opted_out_numbers(organization=organization, numbers=list(numbers)), OPTED_OUT
                )
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
    return refusal_error(OPTED_OUT)


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

    def __init__(self, prototype: dict, *, gateway, now, routes=()):
        self.fields, self.columns, self.plain, defaults, self.table, self.names = _layout()
        self.base = [prototype.get(name, default) for name, default in zip(self.columns, defaults, strict=True)]
        index = {name: i for i, name in enumerate(self.columns)}
        self.i_id, self.i_recipient, self.i_sender = index["id"], index["recipient"], index["sender"]
        self.i_gateway = index["gateway_id"]
        self.i_reason = index["error_reason"]
        self.failed = [(index["status"], Status.FAILED), (index["failed_at"], now), (index["result_code"], "FAILED")]
        self.gateway = gateway
        # One query for the gateway's local numbers, not one per recipient; without local numbers
        # every recipient gets the gateway's configured sender (no country lookup per number).
        if "inbound_numbers" not in getattr(gateway, "_prefetched_objects_cache", {}):
            prefetch_related_objects([gateway], "inbound_numbers")
        self.local_senders = gateway_senders(gateway, organization_id=prototype["organization_id"])
        self.default_sender = gateway.config.get("from", "") or ""
        self.organization_id = prototype["organization_id"]
        self.routes = routes
        self._route_senders: dict = {}  # gateway id → (local numbers, its `from`), built once per send
        self.values: list[list] = []
        self.queued = 0
        self._templates: dict[str, list[str]] = {}  # COPY text of a queued row ("") and per refusal reason

    def add(self, number: str, given: str, refused: dict[str, str], result: QueueResult) -> list:
        row = self.base.copy()
        row[self.i_id] = uuid.uuid4()
        row[self.i_recipient] = number
        route = route_match(self.routes, number) if self.routes else None
        if route is not None:
            routed = route_gateway(route)
            row[self.i_gateway] = routed.pk
            local, default = self._senders_of(routed)
        else:
            local, default = self.local_senders, self.default_sender
        if local:  # as gateway_sender_for(), with the map built once per send
            row[self.i_sender] = local.get(country_of(number)) or default
        else:
            row[self.i_sender] = default
        reason = refused.get(number)
        if reason is not None:
            for i, value in self.failed:
                row[i] = value
            row[self.i_reason] = reason
            result.refused.append((given, reason))
        else:
            self.queued += 1
        self.values.append(row)
        return row

    def _senders_of(self, gateway) -> tuple[dict, str]:
        senders = self._route_senders.get(gateway.pk)
        if senders is None:
            local = gateway_senders(gateway, organization_id=self.organization_id)
            senders = self._route_senders[gateway.pk] = (local, gateway.config.get("from", "") or "")
        return senders

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

    def copy_streaming(self, numbers, refused: dict[str, str], result: QueueResult) -> None:
        """Build rows from `numbers` as they are validated and COPY them in chunks: the database
        (the other core) inserts one chunk while this process validates the next."""

        def chunks():
            chunk: list[list] = []
            for number, given in numbers:
                chunk.append(self.add(number, given, refused, result))
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
        the failure columns of refused rows): every other value is converted once per send (and
        refusal reason), not once per row as psycopg's write_row would (that was most of accepting
        10,000 recipients)."""
        i_reason, i_id, i_recipient, i_sender = self.i_reason, self.i_id, self.i_recipient, self.i_sender
        lines = []
        for row in rows:
            reason = row[i_reason]
            template = self._templates.get(reason)
            if template is None:
                prepared = [f.get_db_prep_save(v, connection) for f, v in zip(self.fields, row, strict=True)]
                template = self._templates[reason] = [copy_text(v) for v in prepared]
            line = template.copy()
            line[i_id] = str(row[i_id])
            line[i_recipient] = row[i_recipient]  # E.164: digits and "+", nothing to escape
            line[i_sender] = copy_text(row[i_sender])
            if self.routes:
                line[self.i_gateway] = str(row[self.i_gateway])
            lines.append("\t".join(line))
        return "\n".join(lines) + "\n"
