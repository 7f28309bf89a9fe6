"""Request helpers shared by the ways SMS come in (provider webhooks, DHIS2's /api/sms/inbound)."""

from django.core.exceptions import RequestDataTooBig

MAX_INBOUND_BODY_BYTES = 64 * 1024  # an inbound SMS request is a few hundred bytes
# Paths whose clients expect JSON, even for a 404, a 500 or a 503.
API_PREFIXES = ("/api/", "/notification/", "/dispatcher/", "/webhooks/", "/.well-known/")


def body_too_large(request, limit: int = MAX_INBOUND_BODY_BYTES) -> bool:
    """Over `limit` bytes, by the declared length (Django reads no further) or, without one, by
    what was sent."""
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit():
        return int(declared) > limit
    try:
        return len(request.body) > limit
    except RequestDataTooBig:
        return True
