"""The stand-in's BulkSMS Retrieve Messages (`GET /v1/messages?filter=...`), for the reconciler's
status lookup. Kept apart from the request handler so it moves with the BulkSMS part of the stand-in.

The filter is BulkSMS's documented clause list (`name=value` joined by `&`, `<`/`>`/`<=`/`>=` for
ordered fields). Supported fields: type, userSuppliedId, submission.date; any other field is a 400,
as BulkSMS answers an invalid clause.
"""

import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

_CLAUSE = re.compile(r"^(?P<name>[A-Za-z.]+)(?P<op><=|>=|<|>|=)(?P<value>.*)$")
_FIELDS = ("type", "userSuppliedId", "submission.date")


def _compare(left, op: str, right) -> bool:
    return {
        "=": left == right,
        "<": left < right,
        ">": left > right,
        "<=": left <= right,
        ">=": left >= right,
    }[op]


def _clauses(text: str) -> list[tuple[str, str, str]] | None:
    clauses = []
    for part in filter(None, text.split("&")):
        match = _CLAUSE.match(part)
        if not match or match["name"] not in _FIELDS:
            return None
        clauses.append((match["name"], match["op"], match["value"]))
    return clauses


def _matches(message, clauses) -> bool:
    for name, op, value in clauses:
        if name == "type" and not _compare("SENT", op, value):
            return False
        if name == "userSuppliedId" and not _compare(message.reference, op, value):
            return False
        if name == "submission.date":
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if not _compare(parsedate_to_datetime(message.created), op, when):
                return False
    return True


def bulksms_retrieve_messages(messages, query: dict[str, list[str]]) -> tuple[int, Any]:
    """(HTTP status, body) for a Retrieve Messages call over the BulkSMS messages the stand-in accepted."""
    bad = {"type": "https://developer.bulksms.com/json/v1/errors#bad-request", "title": "Bad Request", "status": 400}
    clauses = _clauses((query.get("filter") or [""])[0])
    if clauses is None:
        return 400, bad
    try:
        listed = [m for m in messages if m.provider == "bulksms" and _matches(m, clauses)]
    except ValueError:  # a date that is not ISO 8601
        return 400, bad
    entries = [
        {
            "id": m.provider_message_id,
            "type": "SENT",
            "from": m.sender,
            "to": m.to,
            "body": m.text,
            "encoding": "TEXT",
            "numberOfParts": 1,
            "creditCost": 1.0,
            "userSuppliedId": m.reference,
            "submission": {
                "id": f"2-{m.provider_message_id[-14:]}",
                "date": parsedate_to_datetime(m.created).isoformat(),
            },
            "status": {"id": "SENT.null", "type": "SENT", "subtype": None},
        }
        for m in reversed(listed)  # newest first, BulkSMS's default order
    ]
    return 200, entries
