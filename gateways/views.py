"""Provider webhooks: plain Django views, one pair of URLs per gateway (keyed by its uid)."""

import contextlib
import logging

from django.core.exceptions import RequestDataTooBig
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from gateways.exceptions import WebhookValidationError
from gateways.parking import status_park
from gateways.selectors import gateway_get_for_webhook

logger = logging.getLogger(__name__)


MAX_BODY_BYTES = 64 * 1024  # an SMS webhook is a few hundred bytes; as /api/sms/inbound


def _gateway_and_adapter(gateway_uid):
    found = gateway_get_for_webhook(gateway_id=gateway_uid)
    if found is None:
        raise Http404("unknown gateway")
    return found


def _too_large(request) -> HttpResponse | None:
    """413 for a body over 64 KiB, by its declared length or, without one, by what was sent."""
    declared = request.META.get("CONTENT_LENGTH") or ""
    too_large = declared.isdigit() and int(declared) > MAX_BODY_BYTES
    if not too_large and not declared.isdigit() and request.method == "POST":
        try:
            too_large = len(request.body) > MAX_BODY_BYTES
        except RequestDataTooBig:
            too_large = True
    return HttpResponse("request body is larger than 64 KiB", status=413) if too_large else None


def _organization_of_global_reply(gateway, sms):
    """A global gateway serves organizations without their own: a reply on it belongs to the one
    that last sent to that number through it (the message it answers), if any."""
    from messaging.models import OutboundMessage
    from messaging.phones import InvalidPhoneNumber, to_e164

    try:
        number = to_e164(sms.sender, strict=False)
    except InvalidPhoneNumber:
        return None
    from messaging.services.inbound import SENT_STATUSES

    # As reply correlation does: messages that went out (not refused, not queued), not automatic replies.
    last = (
        OutboundMessage.objects.filter(gateway=gateway, recipient=number, status__in=SENT_STATUSES)
        .exclude(source=OutboundMessage.Source.SYSTEM)
        .order_by("-created_at")
        .values_list("organization_id", flat=True)
        .first()
    )
    if last is None:
        return None
    from messaging.services.inbound import organization_get

    return organization_get(organization_id=last)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def inbound_webhook(request, gateway_uid, token=None):
    """A reply from a phone: verify, store (deduplicated), route asynchronously."""
    from messaging.services.inbound import inbound_receive

    gateway, adapter = _gateway_and_adapter(gateway_uid)
    if (refused := _too_large(request)) is not None:
        return refused
    request.webhook_path_token = token
    try:
        adapter.verify_request(request, kind="inbound")
    except WebhookValidationError as exc:
        logger.warning("inbound webhook refused", extra={"gateway": gateway.uid, "reason": str(exc)})
        return HttpResponseForbidden("signature check failed")
    replies = adapter.parse_inbound(request)  # may call the provider (SNS confirmation): outside the transaction
    # One reply is one statement (INSERT … ON CONFLICT): autocommit spares BEGIN/COMMIT round trips.
    with transaction.atomic() if len(replies) > 1 else contextlib.nullcontext():
        for sms in replies:
            organization = gateway.organization or _organization_of_global_reply(gateway, sms)
            if organization is None:
                # Nobody sent to this number through this global gateway: no organization to give it to.
                logger.warning("inbound SMS on a global gateway from a number it never sent to; not stored",
                               extra={"gateway": gateway.uid})  # fmt: skip
                continue
            inbound_receive(
                organization=organization, gateway=gateway, sms=sms, source_ip=request.META.get("REMOTE_ADDR")
            )
    return adapter.webhook_response("inbound")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def status_webhook(request, gateway_uid, token=None):
    """A delivery report: verify, then move each message forward only."""
    from messaging.services.outbound import outbound_status_apply

    gateway, adapter = _gateway_and_adapter(gateway_uid)
    if (refused := _too_large(request)) is not None:
        return refused
    request.webhook_path_token = token
    try:
        adapter.verify_request(request, kind="status")
    except WebhookValidationError as exc:
        logger.warning("status webhook refused", extra={"gateway": gateway.uid, "reason": str(exc)})
        return HttpResponseForbidden("signature check failed")
    for update in adapter.parse_status(request):
        if outbound_status_apply(gateway=gateway, update=update) is not None:
            continue
        # Unknown id: the sender may not have recorded it yet (fast providers). Park the report,
        # then look again in case the id was recorded meanwhile (gateways/parking.py).
        parked = status_park(gateway=gateway, update=update)
        if outbound_status_apply(gateway=gateway, update=update) is not None:
            parked.delete()
            continue
        # Providers retry non-2xx forever; an unknown id is logged and acknowledged.
        logger.warning("status report for an unknown provider message id; parked", extra={"gateway": gateway.uid})
    return adapter.webhook_response("status")
