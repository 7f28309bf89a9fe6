"""Delivery reports: matched by provider id or by our own message id, applied forward-only.

Our message id travels with every send where the provider allows it (Twilio: the per-message
StatusCallback URL; Clickatell `clientMessageId`; BulkSMS `userSuppliedId`; End User Messaging
`Context`; generic HTTP `${id}`), so a report also resolves a message whose provider id we never
recorded (the worker died, the answer was lost): `unknown` → `sent`/`delivered`/….
"""

import logging
import re
import uuid
from collections import defaultdict

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from gateways.models import Gateway
from gateways.parking import status_park, status_unpark
from gateways.providers.base import StatusUpdate
from messaging import listeners
from messaging.live import publish
from messaging.models import OutboundMessage
from smsportal.redact import stored_error

logger = logging.getLogger(__name__)
Status = OutboundMessage.Status
_HEX = re.compile(r"[0-9a-f]{16,32}")
IN_FLIGHT = (Status.QUEUED, Status.SENDING)


def reference_filter(reference: str) -> Q | None:
    """Our message id as a report carries it: the full UUID, or (BulkSMS, 20 characters at most)
    a prefix of its hex form, at least 16 digits (64 bits: no two messages share one in practice)."""
    hexed = (reference or "").replace("-", "").lower()
    if not _HEX.fullmatch(hexed):
        return None
    if len(hexed) == 32:
        return Q(id=uuid.UUID(hexed))
    return Q(id__gte=uuid.UUID(hexed.ljust(32, "0")), id__lte=uuid.UUID(hexed.ljust(32, "f")))


def _by_reference(gateway, update: StatusUpdate) -> OutboundMessage | None:
    """The message a report names by our reference; its provider id is recorded from the report."""
    match = reference_filter(update.reference)
    if match is None:
        return None
    pid = update.provider_message_id
    candidates = OutboundMessage.objects.filter(match, gateway=gateway)
    message = candidates.filter(Q(provider_message_id__isnull=True) | Q(provider_message_id=pid)).first()
    if message is None or not pid or message.provider_message_id:
        return message
    try:
        with transaction.atomic():
            OutboundMessage.objects.filter(pk=message.pk, provider_message_id__isnull=True).update(
                provider_message_id=pid[:128]
            )
    except IntegrityError:  # another message of this gateway has that id: trust the id, not the reference
        logger.warning("report reference and provider id disagree", extra={"gateway": gateway.uid})
        return None
    message.refresh_from_db()
    return message


def outbound_status_apply(*, gateway, update: StatusUpdate) -> OutboundMessage | None:
    """Apply a delivery report: forward-only, so late or repeated reports change nothing wrongly.

    The write is conditional on the status it was decided from (compare-and-set): two reports
    for one message arriving together cannot let the lower one overwrite the higher.
    A report is matched by provider id, else by our reference (which records the provider id on
    the message). A message still queued or being sent is left to its sender: None is returned
    and the caller parks the report, which is applied once the sender records the outcome.
    """
    rank = OutboundMessage.RANK
    lookup = OutboundMessage.objects.filter(gateway=gateway, provider_message_id=update.provider_message_id)
    message = lookup.first() if update.provider_message_id else None
    if message is None and update.reference:
        message = _by_reference(gateway, update)
        if message is not None:
            lookup = OutboundMessage.objects.filter(pk=message.pk)
    for _ in range(5):  # bounded: each retry follows another report's committed write
        if message is None or message.status in IN_FLIGHT:
            return None
        if rank.get(update.status, -1) <= rank[message.status] or message.status in OutboundMessage.FINAL:
            return message
        now = update.occurred_at or timezone.now()
        previous_status = message.status
        changed = {"status": update.status, "updated_at": timezone.now()}
        if (update.status == Status.SENT or previous_status == Status.UNKNOWN) and not message.sent_at:
            changed["sent_at"] = now
        if previous_status == Status.UNKNOWN:
            changed["error_reason"] = ""  # resolved: the provider had it
        if update.status == Status.DELIVERED:
            changed["delivered_at"] = now
        if update.status in (Status.FAILED, Status.UNDELIVERED):
            changed["failed_at" if update.status == Status.FAILED else "undelivered_at"] = now
            changed["provider_error_code"] = update.error_code[:64]
            changed["error_reason"] = stored_error(update.error_text or update.error_code or update.status)
        if not OutboundMessage.objects.filter(pk=message.pk, status=previous_status).update(**changed):
            message = lookup.first()
            continue  # another report moved it meanwhile: decide again from what it wrote
        for name, value in changed.items():
            setattr(message, name, value)
        delivery_status_changed(message=message, previous_status=previous_status)
        return message
    return lookup.first()


def outbound_status_receive(*, gateway, update: StatusUpdate) -> OutboundMessage | None:
    """A report as a provider sends it: applied, or — its id not recorded yet (a fast provider) —
    parked and looked at again in case the sender recorded it meanwhile (gateways/parking.py).
    None when it stays parked; the sender applies it once it records the id."""
    if (message := outbound_status_apply(gateway=gateway, update=update)) is not None:
        return message
    parked = status_park(gateway=gateway, update=update)
    if (message := outbound_status_apply(gateway=gateway, update=update)) is not None:
        parked.delete()
        return message
    logger.warning("status report for an unknown provider message id; parked", extra={"gateway": gateway.uid})
    return None


def simulated_reports_apply(*, gateway_id, reports: list[dict]) -> int:
    """The built-in simulator's delivery reports (gateways/providers/simulator.py), received as a
    provider's webhook would be. Returns how many matched a message (not parked)."""
    gateway = Gateway.objects.filter(pk=gateway_id).first()
    if gateway is None:
        return 0
    matched = 0
    for report in reports:
        update = StatusUpdate(
            provider_message_id=report["id"],
            status=report["status"],
            error_code=report.get("errorCode", ""),
            error_text=report.get("errorText", ""),
            reference=report.get("reference", ""),
        )
        matched += outbound_status_receive(gateway=gateway, update=update) is not None
    return matched


def delivery_status_changed(*, message: OutboundMessage, previous_status: str) -> None:
    """A delivery report moved an outbound message: tell open portal pages and `_smsStatus` plugins."""
    publish(
        organization_id=message.organization_id,
        event="outbound.status",
        data={"id": str(message.id), "status": message.status, "previousStatus": previous_status},
    )
    # No transaction of our own: with no `_smsStatus` plugin this is one read (no write lock).
    listeners.delivery_status_changed(message=message, previous_status=previous_status)


def parked_apply(gateway, provider_message_ids: list) -> None:
    """Apply the reports parked for these ids (they arrived before the ids were recorded)."""
    for update in status_unpark(gateway_id=gateway.pk, provider_message_ids=provider_message_ids):
        outbound_status_apply(gateway=gateway, update=update)


def in_doubt_settle(ids: list, *, reason: str) -> int:
    """Messages whose provider call may have happened (ambiguous answer, worker gone).

    Those a report already named by our reference (so their provider id is known) are `sent`,
    with their parked reports applied; the rest are `unknown` until a report or the reconciler
    resolves them. Returns how many became `unknown`.
    """
    rows = OutboundMessage.objects.filter(id__in=ids, status=Status.SENDING)
    now = timezone.now()
    known = list(rows.filter(provider_message_id__isnull=False).values_list("gateway_id", "provider_message_id"))
    if known:
        rows.filter(provider_message_id__isnull=False).update(status=Status.SENT, sent_at=now, error_reason="")
    unknown = rows.filter(provider_message_id__isnull=True).update(
        status=Status.UNKNOWN, unknown_at=now, error_reason=stored_error(reason)
    )
    by_gateway: dict = defaultdict(list)
    for gateway_id, pid in known:
        by_gateway[gateway_id].append(pid)
    for gateway in Gateway.objects.filter(pk__in=list(by_gateway)):
        parked_apply(gateway, by_gateway[gateway.pk])
    return unknown
