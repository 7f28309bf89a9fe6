"""Provider webhooks: plain Django views, one pair of URLs per gateway (keyed by its uid). The
gateway's adapter verifies and parses; messaging stores replies and applies delivery reports."""

import contextlib
import logging

from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseForbidden, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from gateways.exceptions import WebhookValidationError
from gateways.providers.webhooks import webhook_input_check
from gateways.selectors import gateway_get_for_webhook
from messaging.services.receive import inbound_receive
from messaging.services.status import outbound_status_receive
from smsportal.http import body_too_large
from smsportal.input_safety import HostileInput

logger = logging.getLogger(__name__)


def _gateway_and_adapter(gateway_uid):
    found = gateway_get_for_webhook(gateway_id=gateway_uid)
    if found is None:
        raise Http404("unknown gateway")
    return found


def _refused(request, gateway, adapter, kind: str) -> HttpResponse | None:
    """The answer to a request that is too large, hostile or not from the provider; else None."""
    if body_too_large(request):
        return HttpResponse("request body is larger than 64 KiB", status=413)
    try:
        webhook_input_check(request)
        adapter.verify_request(request, kind=kind)
    except HostileInput as exc:
        return _hostile(gateway, kind, exc)
    except WebhookValidationError as exc:
        logger.warning(f"{kind} webhook refused", extra={"gateway": gateway.uid, "reason": str(exc)})
        return HttpResponseForbidden("signature check failed")
    return None


def _hostile(gateway, kind: str, exc: HostileInput) -> HttpResponse:
    logger.warning(f"{kind} webhook input refused", extra={"gateway": gateway.uid, "field": exc.field})
    return JsonResponse({"error": str(exc), "field": exc.field}, status=400)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def inbound_webhook(request, gateway_uid, token=None):
    """A reply from a phone: verify, store (deduplicated), route asynchronously."""
    gateway, adapter = _gateway_and_adapter(gateway_uid)
    request.webhook_path_token = token
    if (refused := _refused(request, gateway, adapter, "inbound")) is not None:
        return refused
    try:
        replies = adapter.parse_inbound(request)  # may call the provider (SNS confirmation): outside the transaction
    except HostileInput as exc:
        return _hostile(gateway, "inbound", exc)
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
    gateway, adapter = _gateway_and_adapter(gateway_uid)
    request.webhook_path_token = token
    if (refused := _refused(request, gateway, adapter, "status")) is not None:
        return refused
    try:
        updates = adapter.parse_status(request)
    except HostileInput as exc:
        return _hostile(gateway, "status", exc)
    for update in updates:
        outbound_status_receive(gateway=gateway, update=update)
    return adapter.webhook_response("status")
