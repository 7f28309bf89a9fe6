"""BulkSMS: `POST /v1/messages` (a JSON array, Basic auth); webhooks are JSON arrays too.

Its webhook guide and its API spec render webhook bodies differently (`to` as an object, a
nested `status`); `ProviderSimulator(bulksms_rendering="nested")` produces the guide's shape so
the adapter is tested against both.
"""

import json
import re
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from gateways.simulator.outbox import SentMessage
from gateways.simulator.providers import Route, SimulatedProvider, basic_auth, now_iso

# Our status → BulkSMS's (type, subtype).
STATUS = {
    "sent": ("SENT", None),
    "delivered": ("DELIVERED", None),
    "failed": ("FAILED", "NOT_SENT"),
    "undelivered": ("FAILED", "HANDSET_ERROR"),
    "expired": ("FAILED", "EXPIRED"),
    "accepted": ("ACCEPTED", None),
}
WEBHOOK_HEADERS = {"User-Agent": "BulkSMS Invoker"}


def error_body(status, error_code):
    return {
        "type": "https://developer.bulksms.com/json/v1/errors#simulated",
        "title": "Simulated error",
        "status": status,
        "detail": error_code or "simulated",
    }


def new_id(n: int) -> str:
    return str(1674811778896240640 + n)  # BulkSMS ids are large decimal numbers


def _submission(sim) -> dict:
    return {"id": f"2-{sim.next_number():014d}", "date": now_iso()}


def send(sim, exchange, error_code) -> None:
    user, password = basic_auth(exchange.headers)
    if not user or not password:
        return exchange.send(401, error_body(401, None))
    try:
        data = json.loads(exchange.body)
    except ValueError:
        return exchange.send(400, error_body(400, None))
    out = []
    for item in data if isinstance(data, list) else [data]:
        targets = item.get("to")
        for target in targets if isinstance(targets, list) else [targets]:
            number = target.get("address") if isinstance(target, dict) else str(target)
            provider_id = sim.new_id("bulksms")
            if error_code:
                status = {"id": f"FAILED.{error_code}", "type": "FAILED", "subtype": error_code}
            else:
                status = {"id": "ACCEPTED.null", "type": "ACCEPTED", "subtype": None}
                sender = item.get("from") if isinstance(item.get("from"), str) else ""
                reference = item.get("userSuppliedId", "")
                sim.accept(SentMessage("bulksms", provider_id, number, item.get("body", ""), sender, reference))
            out.append(
                {
                    "id": provider_id,
                    "type": "SENT",
                    "from": "",
                    "to": number,
                    "body": item.get("body", ""),
                    "encoding": "TEXT",
                    "protocolId": 0,
                    "messageClass": 2,
                    "numberOfParts": None,
                    "creditCost": None,
                    "userSuppliedId": item.get("userSuppliedId"),
                    "submission": _submission(sim),
                    "status": status,
                }
            )
    exchange.send(201, out)


def report(sim, message, status, error_code, target):
    kind, sub = ("FAILED", error_code) if error_code else STATUS.get(status, ("UNKNOWN", None))
    entry: dict[str, Any] = {
        "id": message.provider_message_id,
        "type": "SENT",
        "to": message.to,
        "userSuppliedId": message.reference,
        "numberOfParts": 1,
        "creditCost": 1.0,
        "submission": _submission(sim),
        "unknownExtraField": "ignored",  # the adapter must tolerate fields it does not know
    }
    if sim.bulksms_rendering == "nested":
        entry["to"] = {"type": "INTERNATIONAL", "address": message.to}
        entry["status"] = {"condition": kind, "date": now_iso(), "cause": sub, "final": kind != "SENT"}
    else:
        entry["status"] = {"id": f"{kind}.{sub or 'null'}", "type": kind, "subtype": sub}
    headers = {"X-BulkSMS-Event": "status-report", "X-BulkSMS-Delivery-Attempt": "1", **WEBHOOK_HEADERS}
    return sim.session.post(target, json=[entry], headers=headers, timeout=15)


def reply(sim, url, incoming):
    entry: dict[str, Any] = {
        "id": incoming.reply_id,
        "type": "RECEIVED",
        "from": incoming.sender,
        "to": incoming.recipient,
        "body": incoming.text,
        "encoding": "TEXT",
        "submission": _submission(sim),
        "status": {"id": "RECEIVED.null", "type": "RECEIVED", "subtype": None},
    }
    if incoming.related_message_id:
        entry["relatedSentMessageId"] = incoming.related_message_id
    if sim.bulksms_rendering == "nested":
        entry["from"] = {"type": "INTERNATIONAL", "address": incoming.sender}
        entry["to"] = {"type": "INTERNATIONAL", "address": incoming.recipient}
        entry["body"] = {"value": incoming.text, "encoding": {"type": "TEXT"}}
    headers = {"X-BulkSMS-Event": "incoming-message", **WEBHOOK_HEADERS}
    return sim.session.post(url, json=[entry], headers=headers, timeout=15)


# Retrieve Messages (`GET /v1/messages?filter=...`): the reconciler's status lookup. The filter is
# BulkSMS's documented clause list (`name=value` joined by `&`, `<`/`>`/`<=`/`>=` for ordered
# fields); fields other than type, userSuppliedId and submission.date are a 400, as BulkSMS
# answers an invalid clause.
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


def _retrieve_messages(messages, query: dict[str, list[str]]) -> tuple[int, Any]:
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


def list_messages(sim, exchange, error_code) -> None:
    if not all(basic_auth(exchange.headers)):
        return exchange.send(401, error_body(401, None))
    exchange.send(*_retrieve_messages(list(sim.messages.values()), exchange.query))


PROVIDER = SimulatedProvider(
    name="bulksms",
    routes=(
        # The status lookup comes first: a GET on the send path lists, it does not send.
        Route(list_messages, path=lambda path: path == "/v1/messages", method="GET", is_send=False),
        Route(send, path=lambda path: path.startswith("/v1/messages")),
    ),
    report=report,
    reply=reply,
    error_body=error_body,
    new_id=new_id,
)
