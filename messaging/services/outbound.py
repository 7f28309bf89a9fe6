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
from functools import cached_property

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from gateways.route_selectors import routes_for
from gateways.selectors import gateway_for_send
from messaging.exceptions import MessageRejected, NoGatewayConfigured
from messaging.models import OptOut, OutboundMessage
from messaging.services.dispatch import dispatch_request
from messaging.services.expiry import valid_until_default
from messaging.services.outbound_texts import outbound_text_id
from messaging.services.outbox_rows import OutboxRows
from messaging.services.send_rules import OPTED_OUT, refusal_error, refusals, send_rules
from smsportal.phones import InvalidPhoneNumber, to_e164
from smsportal.text import text_info

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
            "text_id": outbound_text_id(organization_id=organization.pk, body=body),
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
        rows = OutboxRows(prototype, gateway=gateway, now=now, routes=routes)
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
                rows.add(number, given, refused, result.refused)
            rows.insert()
        elif connection.vendor == "postgresql" and len(recipients) >= STREAM_THRESHOLD and not refuse_opted_out:
            # Large sends: the whole opt-out list in one query, then validation and row building
            # stream into COPY, so the database inserts one chunk while the next is validated.
            opted_out = {} if ignore_opt_out else dict.fromkeys(opted_out_all(organization=organization), OPTED_OUT)
            rows.copy_streaming(valid, opted_out, result.refused)
        elif connection.vendor == "postgresql" and refuse_opted_out and len(recipients) == 1 and not ignore_opt_out:
            for number, given in valid:
                rows.add(number, given, {}, result.refused)
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
                rows.add(number, given, opted_out, result.refused)
            rows.insert()
        if require_one and not rows.values:
            exc = MessageRejected("no recipient", field="recipients", code="no_recipient", status_code=409)
            exc.refused = [{"recipient": given, "reason": reason} for given, reason in result.refused]
            raise exc  # rolls back: a send without one valid recipient stores nothing
        result.columns, result.rows = rows.columns, rows.values
        if rows.queued:
            transaction.on_commit(dispatch_request)
        return result


STREAM_THRESHOLD = 1000  # recipients; from here the org's whole opt-out list is cheaper than a lookup


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
