"""Clickatell: `POST /messages` (JSON, `Authorization: <key>`) and `GET /messages/http/send`,
delivery reports with numeric status codes, replies as JSON with bare (no `+`) numbers."""

import json
import time
import uuid

from gateways.simulator.outbox import SentMessage
from gateways.simulator.providers import Route, SimulatedProvider

# Our status → Clickatell's delivery-report status code.
STATUS_CODES = {"sent": 3, "delivered": 4, "failed": 5, "undelivered": 7, "expired": 10, "queued": 2}


def error_body(status, error_code):
    return {
        "messages": [],
        "errorCode": int(error_code or 0) or status,
        "error": "simulated error",
        "errorDescription": "simulated",
    }


def send(sim, exchange, error_code) -> None:
    if exchange.method == "GET":
        query = exchange.query
        key = (query.get("apiKey") or [""])[0]
        to_list = ",".join(query.get("to") or []).split(",")
        content = (query.get("content") or [""])[0]
        sender = (query.get("from") or [""])[0]
        client_id = ""
    else:
        key = exchange.headers.get("Authorization", "")
        try:
            data = json.loads(exchange.body)
        except ValueError:
            return exchange.send(400, error_body(400, "101"))
        to_list, content = data.get("to") or [], data.get("content", "")
        sender, client_id = data.get("from", ""), data.get("clientMessageId", "")
    if not key:
        return exchange.send(401, error_body(401, "1"))
    if not to_list or not content:
        return exchange.send(400, error_body(400, "101"))
    messages = []
    for n, number in enumerate(to_list):
        number = str(number)
        if error_code:
            messages.append(
                {
                    "apiMessageId": None,
                    "accepted": False,
                    "to": number,
                    "errorCode": int(error_code) if error_code.isdigit() else error_code,
                    "error": "Invalid destination address.",
                    "errorDescription": "The destination address you attempted to send to is invalid.",
                }
            )
            continue
        provider_id = sim.new_id("clickatell")
        reference = f"{client_id}:{n}" if client_id else ""  # one clientMessageId per multi-recipient request
        sim.accept(SentMessage("clickatell", provider_id, number, content, sender, reference))
        messages.append({"apiMessageId": provider_id, "accepted": True, "to": number, "errorCode": None, "error": None})
    exchange.send(202, {"messages": messages, "errorCode": None, "error": None, "errorDescription": None})


def report(sim, message, status, error_code, target):
    body = {
        "integrationName": "smsportal",
        "messageId": message.provider_message_id,
        "requestId": uuid.uuid4().hex,
        "clientMessageId": message.reference,
        "to": message.to,
        "from": message.sender,
        "statusCode": int(error_code) if error_code else STATUS_CODES.get(status, 1),
        "status": status.upper(),
        "statusDescription": status,
        "timestamp": str(int(time.time() * 1000)),
    }
    return sim.session.post(target, json=body, timeout=15)


def reply(sim, url, incoming):
    body = {
        "integrationName": "smsportal",
        "messageId": incoming.related_message_id or uuid.uuid4().hex,
        "replyMessageId": incoming.reply_id,
        "fromNumber": incoming.sender.lstrip("+"),
        "toNumber": incoming.recipient.lstrip("+"),
        "timestamp": int(time.time() * 1000),
        "text": incoming.text,
        "charset": "UTF-8",
        "udh": "",
        "network": "SIM",
        "keyword": "",
    }
    return sim.session.post(url, json=body, timeout=15)


PROVIDER = SimulatedProvider(
    name="clickatell",
    routes=(Route(send, path=lambda path: path == "/messages" or path.startswith("/messages/http/send")),),
    report=report,
    reply=reply,
    error_body=error_body,
)
