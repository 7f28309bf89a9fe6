"""The poll URL of a pull-mode gateway: a CHT gateway phone (gateways/providers/cht_gateway.py).

Thin: the gateway's adapter authenticates (HTTP Basic) and validates the body (all or nothing: 400
naming the field); messaging/services/pull.py stores, applies and claims. Errors use the app's documented shape
`{"error": true, "message": …}` (plus our `field`).
"""

import gzip
import io
import logging
import zlib

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from gateways.exceptions import WebhookValidationError
from gateways.providers.webhooks import webhook_input_check
from gateways.selectors import gateway_get_for_webhook
from messaging.services.pull import pull_poll
from smsportal.http import MAX_INBOUND_BODY_BYTES, body_too_large
from smsportal.input_safety import HostileInput, json_loads

logger = logging.getLogger(__name__)


def _error(status: int, message: str, field: str | None = None, **headers) -> JsonResponse:
    body = {"error": True, "message": message}
    if field:
        body["field"] = field
    response = JsonResponse(body, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _gunzip(request) -> None:
    """The app may gzip its request (README, "Headers"): decode it, bounded, before anything reads it."""
    if request.headers.get("Content-Encoding", "").lower() != "gzip" or not request.body:
        return
    try:
        raw = gzip.GzipFile(fileobj=io.BytesIO(request.body)).read(MAX_INBOUND_BODY_BYTES * 4 + 1)
    except (OSError, EOFError, zlib.error):
        raise HostileInput("body", "malformed gzip body")
    if len(raw) > MAX_INBOUND_BODY_BYTES * 4:
        raise HostileInput("body", "gzip body too large")
    try:
        request._webhook_json = json_loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise HostileInput("body", "the body must be a JSON object")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def cht_gateway_poll(request, gateway_uid):
    found = gateway_get_for_webhook(gateway_id=gateway_uid)
    if found is None or not found[1].capabilities.pull:
        return _error(404, "unknown gateway")
    gateway, adapter = found
    if body_too_large(request):
        return _error(413, "request body is larger than 64 KiB")
    try:
        adapter.verify_request(request, kind="poll")
    except WebhookValidationError as exc:
        logger.warning("pull gateway refused", extra={"gateway": gateway.uid, "reason": str(exc)})
        return _error(401, "username or password wrong", WWW_Authenticate='Basic realm="smsportal"')
    if request.method == "GET":
        return JsonResponse({"medic-gateway": True})
    try:
        _gunzip(request)
        webhook_input_check(request)
        poll = adapter.parse_poll(request)
    except HostileInput as exc:
        logger.warning("pull gateway input refused", extra={"gateway": gateway.uid, "field": exc.field})
        return _error(400, str(exc), exc.field)
    outgoing = pull_poll(
        gateway=gateway,
        inbound=poll.inbound,
        updates=poll.updates,
        limit=adapter.capabilities.max_batch_size,
        source_ip=request.META.get("REMOTE_ADDR"),
    )
    return JsonResponse(adapter.poll_response(outgoing))
