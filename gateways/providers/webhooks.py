"""Small helpers adapters share to read provider webhooks."""

import json
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest
from django.utils.dateparse import parse_datetime

from messaging.phones import normalize_sender


def request_json(request: HttpRequest) -> Any:
    """The JSON body, whatever content type the provider claims (SNS says text/plain); None if not JSON."""
    body = request.body
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def request_fields(request: HttpRequest) -> dict[str, Any]:
    """Query parameters, then form fields or a JSON object body, as one flat dict."""
    fields: dict[str, Any] = dict(request.GET.items())
    if request.method == "POST":
        content_type = request.content_type or ""
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
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
    normalised = normalize_sender(text)
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
