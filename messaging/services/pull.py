"""Pull mode: gateways whose phone polls us (CHT gateway, gateways/providers/cht_gateway.py).

Their messages wait `queued`; dispatch skips them (gateways.selectors.pull_gateway_ids). A poll:
1. notes the phone is alive (a gateway marked down for silence comes back);
2. stores its inbound messages once each (inbound_receive's unique key: a repeated id is ignored);
3. applies its status updates: any update confirms a message we offered (`sending` → `sent`, our id
   as the provider id), then the status is applied forward-only, so repeated or out-of-order
   updates change nothing wrongly; an id that is not one of this gateway's messages is ignored;
4. claims the messages to offer: queued and due, or offered and unconfirmed past
   SMSPORTAL_PULL_LEASE_SECONDS (the phone ignores an id it already has), still valid; one
   `SELECT … FOR UPDATE SKIP LOCKED` plus a conditional UPDATE, so two polls never get one message.

A phone silent for SMSPORTAL_PULL_DOWN_AFTER_SECONDS marks its gateway down (`pull_gateways_check`,
from the sweeper): its never-offered messages move to the fallback (one conditional UPDATE: a
message is either claimed by the phone or moved, never both); the ones offered but unconfirmed
become `unknown` (the phone may have sent them) instead of being sent twice.
"""

import logging
import uuid
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from gateways.models import Gateway
from gateways.providers.base import InboundSms, OutboundSms, StatusUpdate
from gateways.route_selectors import fallback_for
from gateways.selectors import PULL_TYPES, gateway_sender_for
from messaging.models import OutboundMessage
from messaging.services.dispatch import dispatch_request
from messaging.services.expiry import outbound_expire, still_valid
from messaging.services.receive import inbound_receive
from messaging.services.status import outbound_status_apply, reference_filter
from smsportal.localcache import local_caches_clear
from smsportal.redact import stored_error

logger = logging.getLogger(__name__)
Status = OutboundMessage.Status
SILENT = "the phone stopped polling"
# A silent phone's gateway stays down until its next poll (which clears this).
DOWN_UNTIL_POLL = timedelta(days=3650)


def pull_poll(
    *, gateway: Gateway, inbound: list[InboundSms], updates: list[StatusUpdate], limit: int, source_ip=None
) -> list[OutboundSms]:
    """One poll of a phone: store, apply, claim. Returns the messages to hand to the phone."""
    _poll_note(gateway)
    with transaction.atomic():
        for sms in inbound:
            inbound_receive(organization=gateway.organization, gateway=gateway, sms=sms, source_ip=source_ip)
    for update in updates:
        pull_update_apply(gateway=gateway, update=update)
    return pull_claim(gateway=gateway, limit=limit)


def _poll_note(gateway: Gateway) -> None:
    now = timezone.now()
    was_down = Gateway.objects.filter(pk=gateway.pk, down_until__isnull=False).update(
        down_until=None, consecutive_failures=0, last_polled_at=now, last_success_at=now
    )
    if was_down:
        local_caches_clear()  # new sends in this process use the phone again at once
        logger.info("pull gateway polling again", extra={"gateway": gateway.uid})
    else:
        Gateway.objects.filter(pk=gateway.pk).update(last_polled_at=now)


def pull_update_apply(*, gateway: Gateway, update: StatusUpdate) -> OutboundMessage | None:
    """Apply one status update of the phone; None when it names no message of this gateway."""
    match = reference_filter(update.reference)
    if match is None:
        return None
    now = timezone.now()
    # Confirmation: the phone has it. Only a message we offered (attempts > 0) and not resolved yet.
    OutboundMessage.objects.filter(match, gateway_id=gateway.pk, provider_message_id__isnull=True).filter(
        Q(status=Status.SENDING) | Q(status=Status.QUEUED, attempts__gt=0)
    ).update(
        status=Status.SENT,
        provider_message_id=update.reference[:128],
        result_code="RESULT_CODE_0",
        sent_at=now,
        claim_token=None,
        error_reason="",
    )
    return outbound_status_apply(gateway=gateway, update=update)


def _offerable(now) -> Q:
    lease = now - timedelta(seconds=settings.SMSPORTAL_PULL_LEASE_SECONDS)
    due = Q(status=Status.QUEUED) & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    return (due | Q(status=Status.SENDING, claimed_at__lt=lease)) & still_valid(now)


def pull_claim(*, gateway: Gateway, limit: int) -> list[OutboundSms]:
    """Claim up to `limit` messages for the phone, each exactly once per lease."""
    outbound_expire(gateway_id=gateway.pk)
    now = timezone.now()
    token = uuid.uuid4()
    mine = OutboundMessage.objects.filter(gateway_id=gateway.pk)
    with transaction.atomic():
        ids = list(
            mine.select_for_update(skip_locked=True)
            .filter(_offerable(now))
            .order_by("created_at")
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return []
        # Conditional on what made them offerable: a concurrent poll (SQLite has no row locks) or the
        # silence check that moved them to the fallback leaves them out here.
        mine.filter(id__in=ids).filter(_offerable(now)).update(
            status=Status.SENDING,
            claim_token=token,
            claimed_at=now,
            send_started_at=now,
            dispatched_at=now,
            attempts=F("attempts") + 1,
        )
    claimed = OutboundMessage.objects.filter(claim_token=token).order_by("created_at")
    return [
        OutboundSms(reference=str(m.id), to=m.recipient, text=m.body, segments=m.segments, valid_until=m.valid_until)
        for m in claimed.only("id", "recipient", "body", "segments", "valid_until")
    ]


def pull_gateways_check() -> dict[str, int]:
    """From the sweeper: mark silent phones down and hand their messages to the fallback."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.SMSPORTAL_PULL_DOWN_AFTER_SECONDS)
    silent = Gateway.objects.filter(type__in=PULL_TYPES, is_active=True).filter(
        Q(last_polled_at__lt=cutoff) | Q(last_polled_at__isnull=True, created_at__lt=cutoff)
    )
    counts = {"down": 0, "moved": 0, "unknown": 0}
    for gateway in silent:
        if not (gateway.down_until and gateway.down_until > now):
            gateway.down_until = now + DOWN_UNTIL_POLL
            Gateway.objects.filter(pk=gateway.pk).update(down_until=gateway.down_until)
            local_caches_clear()  # new sends in this process start on the fallback at once
            logger.warning("pull gateway marked down: no poll", extra={"gateway": gateway.uid})
            counts["down"] += 1
        moved, unknown = _hand_over(gateway, now)
        counts["moved"] += moved
        counts["unknown"] += unknown
    if counts["moved"]:
        transaction.on_commit(dispatch_request)
    return counts


def _hand_over(gateway: Gateway, now) -> tuple[int, int]:
    pending = OutboundMessage.objects.filter(gateway_id=gateway.pk, status__in=[Status.QUEUED, Status.SENDING])
    rows = list(pending.values_list("id", "organization_id", "recipient", "attempts"))
    if not rows:
        return 0, 0
    targets: dict = defaultdict(list)  # (fallback id, sender) → never-offered ids
    offered = []
    for message_id, organization_id, recipient, attempts in rows:
        fallback = fallback_for(gateway, organization_id=organization_id, recipient=recipient)
        if fallback is None:
            continue  # nothing takes over: the messages wait for the phone (or their validity)
        if attempts:
            offered.append(message_id)
            continue
        sender = gateway_sender_for(gateway=fallback, recipient=recipient, organization_id=organization_id)
        targets[(fallback.pk, sender)].append(message_id)
    moved = 0
    for (fallback_id, sender), ids in targets.items():
        # Only still-queued, never-offered rows of this gateway: a poll that claimed one first keeps it.
        moved += OutboundMessage.objects.filter(
            id__in=ids, gateway_id=gateway.pk, status=Status.QUEUED, attempts=0
        ).update(
            gateway_id=fallback_id,
            sender=sender,
            dispatched_at=None,
            claim_token=None,
            error_reason=stored_error(f"re-routed to the fallback: {SILENT}"),
        )
    unknown = OutboundMessage.objects.filter(
        id__in=offered, gateway_id=gateway.pk, status__in=[Status.QUEUED, Status.SENDING], provider_message_id=None
    ).update(
        status=Status.UNKNOWN,
        unknown_at=now,
        claim_token=None,
        error_reason=stored_error(f"offered to the phone, never confirmed; {SILENT}"),
    )
    return moved, unknown
