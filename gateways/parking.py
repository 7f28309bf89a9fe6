"""Delivery reports that arrive before the provider id is recorded are parked, then applied.

The status webhook parks a report whose provider id matches no message, then checks again;
the sending worker, after recording a batch's ids, applies what was parked for them. Each side
writes before it reads, so whichever runs second sees the other's write: no report is lost, and
applying one twice is harmless (status only moves forward). A short-lived Redis marker per
gateway lets the sender skip the lookup when nothing is parked.
"""

import logging
from datetime import timedelta

from django.utils import timezone

from gateways.models import ParkedStatus
from gateways.providers.base import StatusUpdate
from smsportal.flags import Flag
from smsportal.redis import get_redis

logger = logging.getLogger(__name__)
PARK_DAYS = 3  # carriers report for up to 72 h
# "This gateway has parked reports": lets the send path skip the lookup in the common case.
# A report is parked for the seconds between the provider's answer and our recording of it, so
# the marker only needs to outlive that window by a wide margin.
MARKER_KEY = "smsportal:parked:{}"
MARKER_SECONDS = 600


def _marker(gateway_id) -> Flag:
    return Flag(MARKER_KEY.format(gateway_id), MARKER_SECONDS)


def _marker_set(gateway_id) -> None:
    client = get_redis()
    if client is not None:
        try:
            _marker(gateway_id).set(client)
        except Exception:  # noqa: BLE001 — without the marker the lookup simply always runs
            logger.warning("parked-report marker not set", extra={"gateway": str(gateway_id)})


def _marker_absent(gateway_id) -> bool:
    client = get_redis()
    if client is None:
        return False
    try:
        return not _marker(gateway_id).is_up(client)
    except Exception:  # noqa: BLE001
        return False


def status_park(*, gateway, update: StatusUpdate) -> ParkedStatus:
    ParkedStatus.objects.filter(gateway=gateway, created_at__lt=timezone.now() - timedelta(days=PARK_DAYS)).delete()
    parked = ParkedStatus.objects.create(
        gateway=gateway,
        provider_message_id=update.provider_message_id[:128],
        status=update.status,
        error_code=update.error_code[:64],
        error_text=update.error_text[:300],
        occurred_at=update.occurred_at,
    )
    _marker_set(gateway.pk)  # after the row: a sender that sees the marker finds the row
    return parked


def status_unpark(*, gateway_id, provider_message_ids: list[str]) -> list[StatusUpdate]:
    """Take (and delete) the reports parked for these provider ids, oldest first."""
    ids = [i for i in provider_message_ids if i]
    if not ids or _marker_absent(gateway_id):
        return []
    parked = list(
        ParkedStatus.objects.filter(gateway_id=gateway_id, provider_message_id__in=ids).order_by("created_at", "pk")
    )
    if not parked:
        return []
    ParkedStatus.objects.filter(pk__in=[p.pk for p in parked]).delete()
    return [
        StatusUpdate(
            provider_message_id=p.provider_message_id,
            status=p.status,
            error_code=p.error_code,
            error_text=p.error_text,
            occurred_at=p.occurred_at,
        )
        for p in parked
    ]
