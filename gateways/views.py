"""Provider webhooks: plain Django views, one pair of URLs per gateway (keyed by its uid)."""

import contextlib
import logging

from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from gateways.exceptions import WebhookValidationError
from gateways.parking import status_park
from gateways.selectors import gateway_get_for_webhook
from smsportal.http import body_too_large

logger = logging.getLogger(__name__)


def _gateway_and_adapter(gateway_uid):
    found = gateway_get_for_webhook(gateway_id=gateway_uid)
    if found is None:
        raise Http404("unknown gateway")
    return found


def _too_large(request) -> HttpResponse | None:
    return HttpResponse("request body is larger than 64 KiB", status=413) if body_too_large(request) else None


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
            # A global gateway (no organization): inbound_receive attributes the reply by its destination.
            inbound_receive(
                organization=gateway.organization, gateway=gateway, sms=sms, source_ip=request.META.get("REMOTE_ADDR")
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
