"""BulkSMS: `POST /v1/messages` (a JSON array, Basic auth); webhooks are JSON arrays too.

Its webhook guide and its API spec render webhook bodies differently (`to` as an object, a
nested `status`); `ProviderSimulator(bulksms_rendering="nested")` produces the guide's shape so
the adapter is tested against both.
"""

import json
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
    return {"id": f"2-{next(sim._ids):014d}", "date": now_iso()}


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
            provider_id = sim._new_id("bulksms")
            if error_code:
                status = {"id": f"FAILED.{error_code}", "type": "FAILED", "subtype": error_code}
            else:
                status = {"id": "ACCEPTED.null", "type": "ACCEPTED", "subtype": None}
                sender = item.get("from") if isinstance(item.get("from"), str) else ""
                reference = item.get("userSuppliedId", "")
                sim._accept(SentMessage("bulksms", provider_id, number, item.get("body", ""), sender, reference))
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
    return sim._session.post(target, json=[entry], headers=headers, timeout=15)


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
    return sim._session.post(url, json=[entry], headers=headers, timeout=15)


PROVIDER = SimulatedProvider(
    name="bulksms",
    routes=(Route(send, path=lambda path: path.startswith("/v1/messages")),),
    report=report,
    reply=reply,
    error_body=error_body,
    new_id=new_id,
)
