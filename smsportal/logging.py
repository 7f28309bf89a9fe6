"""Structured JSON logging that keeps health data out of log lines.

Callers log ids and counts, never phone numbers or bodies; `phone_ref` gives a keyed,
non-reversible reference when a number must be correlated across lines.
"""

import hashlib
import hmac
import json
import logging

from django.conf import settings
from django.http import HttpRequest

_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                payload[key] = _safe(value)
        if record.exc_info:
            payload["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(payload, default=str)


def _safe(value):
    """Requests are logged as method and path only: query strings carry numbers and texts
    (DHIS2's `?recipient=...&message=...`), and Django's request repr includes them."""
    if isinstance(value, HttpRequest):
        return f"{value.method} {value.path}"
    return value


def phone_ref(phone_number: str) -> str:
    """A keyed HMAC of a phone number, safe for logs: same number, same ref; not reversible."""
    key = settings.SMSPORTAL_LOG_HASH_KEY.encode()
    return hmac.new(key, str(phone_number).encode(), hashlib.sha256).hexdigest()[:12]
