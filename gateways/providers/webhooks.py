"""Small helpers adapters share to read provider webhooks."""

from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from django.utils.dateparse import parse_datetime

from gateways.exceptions import WebhookValidationError
from smsportal.input_safety import HostileInput, check_pairs, json_loads
from smsportal.phones import InvalidPhoneNumber, to_e164

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
_UNREAD = object()


def request_json(request: HttpRequest) -> Any:
    """The JSON body, whatever content type the provider claims (SNS says text/plain); None if not JSON.

    Raises HostileInput for JSON no view may see (smsportal/input_safety.py). Decoded once per request.
    """
    data = getattr(request, "_webhook_json", _UNREAD)
    if data is _UNREAD:
        data = None
        if request.body:
            try:
                data = json_loads(request.body)
            except HostileInput:
                raise
            except (ValueError, UnicodeDecodeError):
                data = None
        request._webhook_json = data
    return data


def webhook_input_check(request: HttpRequest) -> None:
    """Raise HostileInput when a webhook's fields hold what cannot be stored (NUL characters, lone
    surrogates, deep nesting), before any adapter reads them. A GET's body is never read."""
    check_pairs(request.GET.lists(), kind="query")
    if request.method != "POST":
        return
    request.body  # noqa: B018 — read (≤ 64 KiB, checked before) so that a signature can cover the raw bytes
    if (request.content_type or "") in FORM_TYPES:
        try:
            check_pairs(request.POST.lists())
        except MultiPartParserError:
            raise HostileInput("body", "malformed multipart body")
    else:
        request_json(request)


def json_entries(request: HttpRequest) -> list[dict]:
    """A JSON body that is an object or an array of objects, as a list; [] for an empty or non-JSON
    body (a provider's activation ping); HostileInput for any other JSON (`1`, `"x"`)."""
    data = request_json(request)
    if data is None:
        return []
    if isinstance(data, dict):
        return [data]
    if not isinstance(data, list):
        raise HostileInput("body", "expected a JSON object or an array of objects")
    return [e for e in data if isinstance(e, dict)]


def request_fields(request: HttpRequest) -> dict[str, Any]:
    """Query parameters, then form fields or a JSON object body, as one flat dict."""
    fields: dict[str, Any] = dict(request.GET.items())
    if request.method == "POST":
        content_type = request.content_type or ""
        if content_type in FORM_TYPES:
            fields.update(request.POST.items())
        else:
            data = request_json(request)
            if isinstance(data, dict):
                fields.update(data)
            elif data is None and request.body:
                fields.update(request.POST.items())
    return fields


def normalise_number(value: Any) -> str:
    """E.164 when the value is a full international number (with or without '+'), else as given."""
    text = str(value or "").strip()
    if not text or not text.lstrip("+").isdigit():
        return text  # an alphanumeric sender id
    try:
        normalised = to_e164(text if text.startswith(("+", "00")) else "+" + text.lstrip("+"))
    except InvalidPhoneNumber:
        normalised = text
    digits = text.lstrip("+")
    if not normalised.startswith("+") and len(digits) >= 8:
        # Providers send full international numbers; keep it comparable even if metadata says invalid.
        return f"+{digits}"
    return normalised


def parse_timestamp(value: Any) -> datetime | None:
    """Epoch seconds/milliseconds or ISO 8601 → aware datetime; None when absent or unreadable."""
    if value in (None, ""):
        return None
    if isinstance(value, int | float) or (isinstance(value, str) and value.isdigit()):
        number = float(value)
        if number > 1e11:  # milliseconds
            number /= 1000.0
        try:
            return datetime.fromtimestamp(number, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    try:
        parsed = parse_datetime(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed is not None and parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


MAX_CLOCK_SKEW_SECONDS = 300


def fresh_check(signed_at: datetime | None, max_age_seconds: float, provider: str) -> None:
    """Refuse a signed message whose signed time is missing, older than `max_age_seconds` or
    ahead of our clock: a signature proves origin, not that the message is not a replay."""
    if signed_at is None:
        raise WebhookValidationError(f"{provider} message has no readable timestamp")
    age = (datetime.now(UTC) - signed_at).total_seconds()
    if age > max_age_seconds:
        raise WebhookValidationError(f"{provider} message is {int(age)} s old (replay window {int(max_age_seconds)} s)")
    if age < -MAX_CLOCK_SKEW_SECONDS:
        raise WebhookValidationError(f"{provider} message is dated in the future")


def dig(data: Any, path: str) -> Any:
    """`a.b.0.c` lookup in nested dicts/lists; None when any step is missing."""
    current = data
    for part in path.split("."):
        if isinstance(current, dict):
            current = current.get(part)
        elif isinstance(current, list) and part.isdigit() and int(part) < len(current):
            current = current[int(part)]
        else:
            return None
    return current
