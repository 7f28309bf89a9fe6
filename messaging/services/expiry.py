"""Message validity: a message not handed to a provider by its `valid_until` is `expired`, never sent late.

Checked where a message is handed over (delivery's claim, a phone's poll: messaging/services/pull.py)
and by the sweeper for rows still queued (a gateway down, quiet hours, retries). Each expired
message is reported like a delivery-status change: live event and `_smsStatus` plugins.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from messaging.models import OutboundMessage
from messaging.services.status import delivery_status_changed

Status = OutboundMessage.Status
EXPIRED_REASON = "expired: not handed to a provider before its validUntil"
EXPIRE_BATCH = 2000  # per call; the sweeper's next run goes on


def still_valid(now: datetime) -> Q:
    return Q(valid_until__isnull=True) | Q(valid_until__gt=now)


def valid_until_default(*, source: str, now: datetime) -> datetime | None:
    """The validity a message of this source gets when its sender gave none (settings, in seconds; 0 = none)."""
    seconds = settings.SMSPORTAL_VALIDITY_SECONDS.get(source, 0)
    return now + timedelta(seconds=seconds) if seconds else None


def outbound_expire(*, ids=None, gateway_id=None) -> int:
    """Expire the queued messages (of `ids`, or of a gateway, or all) whose validity has ended."""
    now = timezone.now()
    due = OutboundMessage.objects.filter(status=Status.QUEUED, valid_until__lte=now)
    if ids is not None:
        due = due.filter(id__in=ids)
    if gateway_id is not None:
        due = due.filter(gateway_id=gateway_id)
    target = list(due.values_list("id", flat=True)[:EXPIRE_BATCH])
    if not target:
        return 0
    # Conditional: a row claimed meanwhile is not queued any more and is left to its sender.
    count = OutboundMessage.objects.filter(id__in=target, status=Status.QUEUED, valid_until__lte=now).update(
        status=Status.EXPIRED,
        expired_at=now,
        result_code="EXPIRED",
        error_reason=EXPIRED_REASON,
        claim_token=None,
    )
    if count:
        # The rows this call expired carry its own timestamp (another caller's differs).
        for message in OutboundMessage.objects.filter(id__in=target, status=Status.EXPIRED, expired_at=now):
            delivery_status_changed(message=message, previous_status=Status.QUEUED)
    return count
