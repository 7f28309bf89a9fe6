"""Redaction of secrets, phone numbers and echoed message text from logs and stored error texts.

A provider may echo our request in its error (the Basic credential, the number, the text), and
Django logs request paths, which may carry a webhook token as a path segment. Everything written
to a log line, `Gateway.last_error` or `OutboundMessage.error_reason` goes through `redact()`.
"""

import base64
import binascii
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl

MASK = "[redacted]"
NUMBER_MASK = "[number]"
MAX_STORED_ERROR = 300

_AUTH_SCHEME = re.compile(r"(?i)\b(basic|bearer|token|digest)(\s+)[A-Za-z0-9+/=._~:-]{6,}")
_SECRET_PAIR = re.compile(
    r"""(?ix)
    (["']?\b(?:[a-z_-]*token|password|passwd|pwd|secret|[a-z_-]*secret|api[_-]?key|apikey|authorization|
        x-twilio-signature|signature|sig|credentials?|accesskey(?:id)?)\b["']?\s*[:=]\s*["']?)
    ([^"'&\s,;}<]+)
    """
)
_WEBHOOK_PATH_TOKEN = re.compile(r"(/webhooks/[0-9a-fA-F-]{32,36}/)([^/\s?#\"']+)(/(?:inbound|status)\b)")
_BASE64_BLOB = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{12,}={0,2}(?![A-Za-z0-9+/=])")
# A phone number: optional +, then 8 to 15 digits with single spaces, dots, dashes or brackets;
# not the first group of a UUID that happens to be all digits (a gateway's id in a logged path).
_PHONE = re.compile(r"(?<![\w+-])(?:\+|%2B)?\(?\d(?:[\s().-]{0,2}\d){7,14}(?!\w)(?!-[0-9a-fA-F]{4}-)")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
_SECONDS = re.compile(r"^\d{2}\.\d{6}$")  # a logged time's "09.171188" (seconds and microseconds)


def _phone(match: re.Match) -> str:
    text = match.group(0)
    return text if _DATE.match(text) or _SECONDS.match(text) else NUMBER_MASK


def _basic_credential(match: re.Match) -> str:
    """A base64 blob that decodes to `user:password` is an echoed Basic credential."""
    blob = match.group(0)
    try:
        decoded = base64.b64decode(blob + "=" * (-len(blob) % 4), validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return blob
    return MASK if ":" in decoded and decoded.isprintable() else blob


def redact(text: str, *, values: Iterable[str] = (), cap: int | None = None) -> str:
    """`text` without credentials, tokens, phone numbers and the given `values` (secrets, the
    message text we sent), cut to `cap` characters when given."""
    if not text:
        return text or ""
    text = str(text)
    for value in sorted({str(v) for v in values if v and len(str(v)) >= 4}, key=len, reverse=True):
        text = text.replace(value, MASK)
    text = _WEBHOOK_PATH_TOKEN.sub(rf"\1{MASK}\3", text)
    text = _AUTH_SCHEME.sub(rf"\1\2{MASK}", text)
    text = _SECRET_PAIR.sub(rf"\1{MASK}", text)
    text = _BASE64_BLOB.sub(_basic_credential, text)
    text = _PHONE.sub(_phone, text)
    if cap is not None and len(text) > cap:
        text = text[: cap - 1] + "…"
    return text


def stored_error(text: str, *, values: Iterable[str] = (), cap: int = MAX_STORED_ERROR) -> str:
    """An error text fit to store: redacted and capped."""
    return redact(text, values=values, cap=cap)


def strings_in(*objects) -> list[str]:
    """Every string inside `objects` (dict values, list items, form-encoded bodies split into
    their values): what a provider could echo back of a request or a gateway's secrets."""
    found: list[str] = []
    stack: list = list(objects)
    while stack:
        current = stack.pop()
        if isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, list | tuple):
            stack.extend(current)
        elif isinstance(current, bytes):
            stack.append(current.decode("utf-8", errors="replace"))
        elif isinstance(current, str):
            found.append(current)
            if "=" in current:
                found.extend(v for _, v in parse_qsl(current))
                found.extend(current.split("&"))
    return found
