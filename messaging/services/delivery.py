"""Delivery: claim a batch, send it in small in-flight groups, record each group as it returns.

The truth about each provider call is kept per group: a group's `send_started_at` is written just
before its request(s) and its provider ids just after, so a worker killed mid-batch leaves
every message provably unsent (no mark: re-queued by the sweeper), provably sent (provider id
saved) or ambiguous (only the group in flight: `unknown`, resolved from its delivery report or
the provider's status lookup, messaging/services/reconcile.py).
"""

import contextlib
import json
import logging
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from gateways.exceptions import GatewayAmbiguousError, GatewayRejectedError, GatewayTemporaryError
from gateways.providers import get_adapter
from gateways.providers.base import OutboundSms, SendResult
from gateways.route_selectors import fallback_for
from gateways.routing import gateway_failure_note, gateway_is_down, gateway_success_note, send_batch_paced
from gateways.selectors import gateway_sender_for
from messaging.models import OutboundMessage
from messaging.services.dispatch import dispatch_request
from messaging.services.expiry import outbound_expire, still_valid
from messaging.services.status import in_doubt_settle, parked_apply
from smsportal.db import update_from_values_sql
from smsportal.redact import stored_error
from smsportal.retry import backoff

logger = logging.getLogger(__name__)
Status = OutboundMessage.Status


@dataclass
class RetryPlan:
    message_ids: list[str]
    countdown: float

    @staticmethod
    def merge(plans: list["RetryPlan | None"]) -> "RetryPlan | None":
        plans = [p for p in plans if p]
        if not plans:
            return None
        return RetryPlan([i for p in plans for i in p.message_ids], max(p.countdown for p in plans))


# What a delivery run reads of its messages (building the provider's request, recording results,
# retries, fallbacks): decoding and constructing the outbox's other columns for every message of a
# 200-message batch was a fifth of a batching provider's worker CPU. A field read but not listed
# costs a query per message: the tests fail on any such read (tests/conftest.py).
DELIVERY_FIELDS = (
    "id", "organization_id", "gateway_id", "recipient", "sender", "subject", "body", "encoding", "segments",
    "status", "attempts", "valid_until", "route_history", "provider_message_id", "result_code", "error_reason",
    "provider_error_code", "sent_at", "failed_at", "unknown_at",  # _results_record's bulk_update reads them all
)  # fmt: skip


def outbound_deliver(*, message_ids: list[str]) -> RetryPlan | None:
    """Claim, send and record a batch of messages of one gateway.

    Returns the messages to try again later (temporary failure) and after how long.
    """
    token = uuid.uuid4()
    now = timezone.now()
    claimed = (
        OutboundMessage.objects.filter(id__in=message_ids, status=Status.QUEUED, provider_message_id__isnull=True)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + timedelta(seconds=1)))
        .filter(still_valid(now))
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
    if claimed < len(message_ids):
        # Some were not claimed: already sent or being sent, not due, or past their validUntil —
        # those are expired now, never sent late (a full claim, the usual case, costs no query).
        outbound_expire(ids=message_ids)
    if not claimed:
        return None  # already sent, being sent, or not due: a redelivered task is harmless
    messages = list(OutboundMessage.objects.filter(id__in=message_ids, claim_token=token).only(*DELIVERY_FIELDS))
    _gateways_attach(messages)
    return RetryPlan.merge([_deliver_for_gateway(group, token) for group in _group_by_gateway(messages)])


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


def in_flight_group_size(adapter) -> int:
    """How many messages are in flight at once: one request's worth for batching providers, the
    parallel requests of one-per-request providers (Twilio: 16). Never a whole 100-message task."""
    caps = adapter.capabilities
    return max(1, caps.max_batch_size if caps.max_batch_size > 1 else caps.concurrency)


def _deliver_for_gateway(messages: list[OutboundMessage], token) -> RetryPlan | None:
    gateway = messages[0].gateway
    if gateway is None or not gateway.is_active:
        return _retry_or_fail(messages, reason="gateway unavailable", result_code="FAILED")
    if gateway_is_down(gateway):
        # Marked down: its messages go to their fallback without calling it (never sent, so safe);
        # those without a usable fallback are still tried on it.
        messages = _to_fallbacks(messages, reason="gateway marked down")
        if not messages:
            return None
    adapter = get_adapter(gateway)
    if adapter.capabilities.pull:
        # Pull mode: the phone takes its messages when it polls; this claim gives them back untouched.
        OutboundMessage.objects.filter(id__in=[m.id for m in messages], claim_token=token).update(
            status=Status.QUEUED, claim_token=None, dispatched_at=None, attempts=F("attempts") - 1
        )
        return None
    size = in_flight_group_size(adapter)
    plans: list[RetryPlan | None] = []
    for start in range(0, len(messages), size):
        group = _send_started_mark(messages[start : start + size], token)
        if not group:
            continue
        plan, stop = _deliver_group(adapter, group)
        plans.append(plan)
        if stop:
            # The provider is failing or hanging: the groups not tried yet were never sent, so
            # they go back to the queue (with backoff) instead of each waiting out the timeout.
            later = messages[start + size :]
            if later:
                plans.append(_retry_or_fail(later, reason=stop, result_code="RESULT_CODE_504", count_attempt=False))
            break
    return RetryPlan.merge(plans)


def _send_started_mark(group: list[OutboundMessage], token) -> list[OutboundMessage]:
    """Record that the provider call of `group` begins; returns the messages still ours to send.

    If the database fails here the mark may have committed unheard (the reply was lost): it is
    cleared on a new connection, since nothing was sent, and the task fails; the sweeper then
    re-queues these messages instead of marking them `unknown`.
    """
    ids = [m.id for m in group]
    mine = OutboundMessage.objects.filter(id__in=ids, claim_token=token, status=Status.SENDING)
    try:
        marked = mine.update(send_started_at=timezone.now())
    except DatabaseError:
        with contextlib.suppress(DatabaseError):
            connection.close()
            mine.update(send_started_at=None)
        raise
    if marked == len(group):
        return group
    still = set(mine.values_list("id", flat=True))  # the sweeper took some back (a lease overrun)
    return [m for m in group if m.id in still]


def _deliver_group(adapter, messages: list[OutboundMessage]) -> tuple[RetryPlan | None, str]:
    """Send one in-flight group and record its outcome. Returns (retry plan, why to stop or "")."""
    gateway = adapter.gateway
    batch = [
        OutboundSms(
            reference=str(m.id),
            to=m.recipient,
            text=m.body,
            sender=m.sender,
            segments=m.segments,
            valid_until=m.valid_until,
        )
        for m in messages
    ]
    try:
        results = send_batch_paced(adapter, batch)
    except GatewayTemporaryError as exc:
        _gateway_note(gateway, error=str(exc))
        gateway_failure_note(gateway)
        plan = _retry_or_fail(messages, reason=str(exc), result_code=exc.result_code, retry_after=exc.retry_after)
        return plan, str(exc)
    except GatewayRejectedError as exc:
        _gateway_note(gateway, error=str(exc))
        _messages_fail(messages, reason=str(exc), result_code=exc.result_code)
        return None, ""
    except (GatewayAmbiguousError, Exception) as exc:  # noqa: BLE001 — an adapter bug must not lose messages
        logger.warning(
            "ambiguous send; messages marked unknown", extra={"gateway": gateway.uid, "count": len(messages)}
        )
        _gateway_note(gateway, error=f"ambiguous: {type(exc).__name__}")
        # `unknown`, unless a report already named one by our id (then it is `sent`).
        in_doubt_settle(
            [m.id for m in messages], reason=f"provider outcome unknown ({type(exc).__name__}); reconciling"
        )
        return None, f"ambiguous provider answer ({type(exc).__name__})"
    return _results_record(messages, results, gateway), ""


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
    parked_apply(gateway, [m.provider_message_id for m in sent])
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
            params = [Status.SENT, code, now, now, *[p for m in rows for p in (str(m.id), m.provider_message_id)]]
            sql = update_from_values_sql(
                table,
                assignments="status = %s, result_code = %s, sent_at = %s, updated_at = %s, error_reason = '', "
                "provider_message_id = v.pid",
                columns=[("id", "uuid"), ("pid", "varchar")],
                rows=len(rows),
                # A report matched by our reference may have moved it further meanwhile.
                where=" AND m.status IN ('sending', 'unknown')",
            )
            cursor.execute(sql, params)


def _retry_or_fail(
    messages: list[OutboundMessage],
    *,
    reason: str,
    result_code: str,
    retry_after: float | None = None,
    count_attempt: bool = True,
) -> RetryPlan | None:
    """Queue again with backoff, or past the attempt budget fail (or hand to the fallback).

    `count_attempt=False`: these messages were claimed but never tried; this claim does not use
    up one of their attempts."""
    now = timezone.now()
    retry, exhausted = [], []
    for m in messages:
        (retry if m.attempts < settings.SMSPORTAL_SEND_MAX_ATTEMPTS or not count_attempt else exhausted).append(m)
    if exhausted:
        stranded = exhausted
        if exhausted[0].gateway is not None:
            stranded = _to_fallbacks(exhausted, reason=f"primary gateway failed: {reason}")
        if stranded:
            _messages_fail(stranded, reason=f"retries exhausted: {reason}", result_code=result_code)
    if not retry:
        return None
    delay = max(retry_after or 0.0, backoff(max(m.attempts for m in retry), base=1.0, cap=600.0))
    OutboundMessage.objects.filter(id__in=[m.id for m in retry]).update(
        status=Status.QUEUED,
        **({} if count_attempt else {"attempts": F("attempts") - 1}),
        claim_token=None,
        dispatched_at=now,
        result_code=result_code,
        next_attempt_at=now + timedelta(seconds=delay),
        error_reason=stored_error(f"retrying: {reason}"),
    )
    return RetryPlan([str(m.id) for m in retry], delay)


def _to_fallbacks(messages: list[OutboundMessage], *, reason: str) -> list[OutboundMessage]:
    """Hand each message to the fallback of the route that chose its gateway, else the gateway's own
    (gateways/route_selectors.py). Returns the messages no usable fallback takes."""
    by_fallback: dict = defaultdict(list)
    stranded = []
    for m in messages:
        fallback = fallback_for(m.gateway, organization_id=m.organization_id, recipient=m.recipient)
        if fallback is None:
            stranded.append(m)
        else:
            by_fallback[fallback.pk].append((fallback, m))
    for pairs in by_fallback.values():
        _reroute_to_fallback([m for _, m in pairs], pairs[0][0], reason=reason)
    return stranded


def _reroute_to_fallback(messages: list[OutboundMessage], fallback, *, reason: str) -> None:
    """Hand never-sent messages (no provider id) to the fallback gateway, counting attempts afresh.

    The `provider_message_id IS NULL` condition is what guarantees a message the primary
    accepted is never sent again by the fallback. The sender is re-chosen for the fallback's numbers.
    """
    by_sender: dict[tuple, list] = defaultdict(list)
    for m in messages:
        sender = gateway_sender_for(gateway=fallback, recipient=m.recipient, organization_id=m.organization_id)
        # The route so far stays on the message: the fallback's success must not hide the primary's failure.
        history = [*(m.route_history or []), _route_step(m.gateway, reason)]
        by_sender[(sender, json.dumps(history))].append(m.id)
    for (sender, history), ids in by_sender.items():
        OutboundMessage.objects.filter(id__in=ids, provider_message_id__isnull=True).exclude(
            status__in=[Status.SENT, Status.DELIVERED, Status.UNDELIVERED, Status.UNKNOWN]
        ).update(
            status=Status.QUEUED,
            gateway=fallback,
            sender=sender,
            route_history=json.loads(history),
            attempts=0,
            dispatched_at=None,
            next_attempt_at=None,
            claim_token=None,
            send_started_at=None,
            error_reason=stored_error(reason),
        )
    transaction.on_commit(dispatch_request)


def _route_step(gateway, reason: str) -> dict:
    return {
        "at": timezone.now().isoformat(),
        "gateway": str(gateway.uid) if gateway is not None else None,
        "gatewayName": gateway.name if gateway is not None else "",
        "reason": stored_error(reason),
    }


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
