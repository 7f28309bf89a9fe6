"""Structured JSON logging that keeps health data out of log lines.

Callers log ids and counts, never phone numbers or bodies; `phone_ref` gives a keyed,
non-reversible reference when a number must be correlated across lines.
"""

import hashlib
import hmac
import json
import logging

from django.conf import settings

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
                payload[key] = value
        if record.exc_info:
            payload["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(payload, default=str)


def phone_ref(phone_number: str) -> str:
    """A keyed HMAC of a phone number, safe for logs: same number, same ref; not reversible."""
    key = settings.SMSPORTAL_LOG_HASH_KEY.encode()
    return hmac.new(key, str(phone_number).encode(), hashlib.sha256).hexdigest()[:12]
