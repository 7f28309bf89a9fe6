"""Structured JSON logging that keeps health data and secrets out of log lines.

Callers log ids and counts, never phone numbers or bodies; `phone_ref` gives a keyed,
non-reversible reference when a number must be correlated across lines. Every string written
goes through smsportal.redact as well: Django's own lines carry request paths (a webhook token
may be a path segment) and a provider's error text may echo what we sent.
"""

import hashlib
import hmac
import json
import logging
import re
import socket

from django.conf import settings
from django.http import HttpRequest

from smsportal.redact import redact

_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
# A request line as the development server logs it ("GET /portal/messages/?q=... HTTP/1.1"): its
# query string is what a person typed or sent (a number searched, DHIS2's ?recipient=&message=).
_QUERY_IN_REQUEST_LINE = re.compile(r"\b((?:GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) [^\s?]*)\?\S*")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        payload = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(_QUERY_IN_REQUEST_LINE.sub(r"\1?[query]", record.getMessage())),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_") and not isinstance(value, socket.socket):
                payload[key] = _safe(value)  # (the development server's extra is its client socket)
        if record.exc_info:
            payload["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(payload, default=str)


def _safe(value):
    """Requests are logged as method and path only: query strings carry numbers and texts
    (DHIS2's `?recipient=...&message=...`), and Django's request repr includes them."""
    if isinstance(value, HttpRequest):
        return redact(f"{value.method} {value.path}")
    if isinstance(value, str):
        return redact(value)
    return value


def phone_ref(phone_number: str) -> str:
    """A keyed HMAC of a phone number, safe for logs: same number, same ref; not reversible."""
    key = settings.SMSPORTAL_LOG_HASH_KEY.encode()
    return hmac.new(key, str(phone_number).encode(), hashlib.sha256).hexdigest()[:12]
