"""Recovery: the sweeper, the reconciler of `unknown` messages, and the explicit resend.

A message is never dropped and never sent again without proof it was not received:
- the sweeper re-queues what provably never reached the provider and marks the rest `unknown`;
- delivery reports resolve an `unknown` message by our reference (messaging/services/status.py);
- the reconciler asks providers with a status lookup about `unknown` messages after the lease:
  found → its status, provably absent → re-queued;
- past SMSPORTAL_UNKNOWN_DEADLINE_SECONDS an `unknown` message is shown as "may not have been
  sent" with a resend for a person to choose (`outbound_resend`), never resent by itself.
"""

import logging
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from gateways.providers import get_adapter
from gateways.providers.base import OutboundSms, StatusUpdate
from gateways.selectors import pull_gateway_ids
from messaging.models import OptOut, OutboundMessage
from messaging.services.dispatch import dispatch_request
from messaging.services.expiry import outbound_expire
from messaging.services.pull import pull_gateways_check
from messaging.services.status import in_doubt_settle, outbound_status_apply

logger = logging.getLogger(__name__)
Status = OutboundMessage.Status
RECONCILE_BATCH = 500  # unknown messages asked about per run (bounded; the next run goes on)
WORKER_GONE = "worker stopped during the provider call; reconciling"
# What a resend copies: the same message to the same number through the same gateway.
RESENT_FIELDS = (
    "organization_id",
    "batch_id",
    "recipient",
    "sender",
    "subject",
    "body",
    "text_id",
    "encoding",
    "segments",
)
RESENT_FIELDS += ("gateway_id", "source")


def outbound_sweep() -> dict[str, int]:
    """Recover what a lost task or a killed worker left behind. Run by beat every 30 s.

    - queued, reserved by a dispatch longer ago than the timeout and due → back to the dispatcher;
    - queued past its validUntil → expired; pull-mode gateways whose phone went silent → down, their
      messages to the fallback (messaging/services/pull.py);
    - sending past the lease: re-queued when its group's provider call provably never started or
      the provider deduplicates on our reference; `sent` when a report already gave its provider
      id; otherwise `unknown`, resolved by its report or the reconciler, never resent blindly.

    The lease of a started message runs from its group's start: a worker still sending the later
    groups of a long batch keeps its group in flight, and its not-yet-started rows, taken back
    here, are skipped by its conditional mark (delivery._send_started_mark).
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
    never_started = abandoned.filter(send_started_at__isnull=True, provider_message_id__isnull=True).update(
        status=Status.QUEUED, dispatched_at=None, claim_token=None
    )
    safe_ids, doubt_ids = [], []
    for message in abandoned.filter(send_started_at__lt=lease).select_related("gateway"):
        dedupes = message.gateway is not None and get_adapter(message.gateway).capabilities.dedupes_on_reference
        (safe_ids if dedupes and not message.provider_message_id else doubt_ids).append(message.id)
    OutboundMessage.objects.filter(id__in=safe_ids).update(status=Status.QUEUED, dispatched_at=None, claim_token=None)
    unknown = in_doubt_settle(doubt_ids, reason=WORKER_GONE)
    counts = {"requeued": requeued + never_started + len(safe_ids), "unknown": unknown}
    counts["expired"] = outbound_expire()
    counts["pull"] = pull_gateways_check()
    waiting = OutboundMessage.objects.filter(status=Status.QUEUED, dispatched_at__isnull=True)
    if counts["requeued"] or waiting.exclude(gateway_id__in=pull_gateway_ids()).exists():
        dispatch_request()
    return counts


def outbound_reconcile() -> dict[str, int]:
    """Ask each provider that has a status lookup about `unknown` messages older than the lease.

    Found → the provider's status (with its provider id); provably never received → re-queued;
    anything else stays `unknown` until its report, or past the deadline is shown to the
    organization as "may not have been sent".
    """
    now = timezone.now()
    due = (
        OutboundMessage.objects.filter(
            status=Status.UNKNOWN,
            provider_message_id__isnull=True,
            unknown_at__lt=now - timedelta(seconds=settings.SMSPORTAL_SEND_LEASE_SECONDS),
            unknown_at__gt=now - timedelta(seconds=settings.SMSPORTAL_UNKNOWN_DEADLINE_SECONDS),
        )
        .select_related("gateway")
        .order_by("unknown_at")[:RECONCILE_BATCH]
    )
    by_gateway: dict = defaultdict(list)
    for message in due:
        if message.gateway is not None:
            by_gateway[message.gateway_id].append(message)
    counts = {"resolved": 0, "requeued": 0}
    for messages in by_gateway.values():
        adapter = get_adapter(messages[0].gateway)
        if not adapter.capabilities.status_lookup:
            continue
        _reconcile_gateway(adapter, messages, counts)
    if counts["requeued"]:
        dispatch_request()
    return counts


def _recorded(gateway, provider_ids: list[str]) -> set[str]:
    return set(
        OutboundMessage.objects.filter(gateway_id=gateway.pk, provider_message_id__in=provider_ids).values_list(
            "provider_message_id", flat=True
        )
    )


def _reconcile_gateway(adapter, messages: list[OutboundMessage], counts: dict) -> None:
    gateway = adapter.gateway
    asked = [OutboundSms(reference=str(m.id), to=m.recipient, text=m.body, sender=m.sender) for m in messages]
    since = min(m.claimed_at or m.created_at for m in messages) - timedelta(minutes=5)
    try:
        found = adapter.status_lookup(asked, since=since, recorded=lambda ids: _recorded(gateway, ids))
    except Exception:  # noqa: BLE001 — a lookup that fails changes nothing; the next run asks again
        logger.warning("status lookup failed", extra={"gateway": gateway.uid}, exc_info=True)
        return
    absent = []
    for message in messages:
        answer = found.get(str(message.id))
        if answer is None:
            continue  # the provider cannot tell: left for its report or the deadline
        if not answer.provider_message_id:
            absent.append(message.id)
            continue
        update = StatusUpdate(
            provider_message_id=answer.provider_message_id,
            status=answer.status or Status.SENT,
            reference=str(message.id),
        )
        if outbound_status_apply(gateway=gateway, update=update) is not None:
            counts["resolved"] += 1
    counts["requeued"] += OutboundMessage.objects.filter(
        id__in=absent, status=Status.UNKNOWN, provider_message_id__isnull=True
    ).update(
        status=Status.QUEUED,
        dispatched_at=None,
        claim_token=None,
        send_started_at=None,
        next_attempt_at=None,
        unknown_at=None,
        error_reason="the provider never received it; queued again",
    )


def may_not_have_been_sent() -> Q:
    """The `unknown` messages past the deadline: shown to their organization with a resend."""
    deadline = timezone.now() - timedelta(seconds=settings.SMSPORTAL_UNKNOWN_DEADLINE_SECONDS)
    return Q(status=Status.UNKNOWN, unknown_at__lt=deadline, resent_as__isnull=True)


def outbound_resend(*, message_ids: list, organization=None) -> list[OutboundMessage]:
    """Send again, as new messages flagged `possible_duplicate`, `unknown` messages a person chose
    to resend. Each is resent at most once, never to an opted-out number; the original stays
    `unknown` (a late report still resolves it) and points to its copy."""
    candidates = OutboundMessage.objects.filter(id__in=message_ids, status=Status.UNKNOWN, resent_as__isnull=True)
    if organization is not None:
        candidates = candidates.filter(organization=organization)
    copies = []
    with transaction.atomic():
        for original in candidates.select_for_update():
            opted_out = OptOut.objects.filter(organization_id=original.organization_id, phone_number=original.recipient)
            if opted_out.exists():
                continue
            copy = OutboundMessage.objects.create(
                **{name: getattr(original, name) for name in RESENT_FIELDS}, possible_duplicate=True
            )
            OutboundMessage.objects.filter(pk=original.pk).update(resent_as=copy.id)
            copies.append(copy)
        if copies:
            transaction.on_commit(dispatch_request)
    return copies


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
