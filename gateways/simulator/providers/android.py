"""SMS Gateway for Android: the cloud/private API (`POST /3rdparty/v1/messages`, `/3rdparty/v1/webhooks`)
and the phone's local server (`POST /message`, `/webhooks`), Basic auth, our id kept as the
message id (a second send with it → 409), and webhook events `{deviceId, event, id, payload,
webhookId}` signed with `X-Signature` = hex HMAC-SHA256(signing key, body + `X-Timestamp`).

The stand-in's signing key is `SIGNING_KEY` (a gateway pointed at it is configured with it);
reports go to the URL registered for the event through `/webhooks`, else to the given target."""

import hashlib
import hmac
import json
import time
import uuid

from gateways.simulator.outbox import SentMessage
from gateways.simulator.providers import Route, SimulatedProvider, basic_auth

SIGNING_KEY = "simulator-android-signing-key"
DEVICE_ID = "ffffffffceb0b1db0000018e937c815b"
EVENTS = {"sent": "sms:sent", "delivered": "sms:delivered", "failed": "sms:failed", "undelivered": "sms:failed"}
TIME_FIELDS = {
    "sms:sent": "sentAt",
    "sms:delivered": "deliveredAt",
    "sms:failed": "failedAt",
    "sms:received": "receivedAt",
}


def error_body(status, error_code):
    return {"code": status, "message": error_code or "simulated error", "data": None}


def _short_id() -> str:
    return uuid.uuid4().hex[:21]


def _authorised(exchange) -> bool:
    user, password = basic_auth(exchange.headers)
    if not user or not password:
        exchange.send(401, error_body(401, "Unauthorized"))
        return False
    return True


def send(sim, exchange, error_code) -> None:
    if not _authorised(exchange):
        return
    try:
        data = json.loads(exchange.body or b"{}")
    except ValueError:
        return exchange.send(400, error_body(400, "invalid JSON"))
    text = (data.get("textMessage") or {}).get("text") if isinstance(data.get("textMessage"), dict) else None
    text = text if text is not None else data.get("message")
    numbers = data.get("phoneNumbers") or []
    if not text or not numbers or not isinstance(numbers, list):
        return exchange.send(400, error_body(400, "message text and phoneNumbers are required"))
    if error_code:
        return exchange.send(400, error_body(400, error_code))
    message_id = str(data.get("id") or _short_id())
    if message_id in sim.messages:
        return exchange.send(409, error_body(409, "message with such ID already exists"))
    status_url = sim.webhooks.get("android", {}).get("sms:delivered", "")
    sim.accept(SentMessage("android", message_id, str(numbers[0]), text, "", message_id, status_url))
    exchange.send(
        202,
        {
            "id": message_id,
            "deviceId": DEVICE_ID,
            "state": "Pending",
            "isHashed": False,
            "isEncrypted": False,
            "recipients": [{"phoneNumber": n, "state": "Pending"} for n in numbers],
            "states": {},
        },
        headers={"Location": f"/messages/{message_id}"},
    )


def webhooks(sim, exchange, error_code) -> None:
    """Register (POST; the same id replaces) or list (GET) webhooks."""
    if not _authorised(exchange):
        return
    registered = sim.webhooks.setdefault("android", {})
    if exchange.method == "GET":
        return exchange.send(200, [{"id": k, "event": k, "url": v} for k, v in registered.items()])
    try:
        data = json.loads(exchange.body or b"{}")
    except ValueError:
        return exchange.send(400, error_body(400, "invalid JSON"))
    if not data.get("url") or data.get("event") not in (*EVENTS.values(), "sms:received"):
        return exchange.send(400, error_body(400, "url and a known event are required"))
    registered[data["event"]] = data["url"]
    exchange.send(201, {"id": data.get("id") or _short_id(), "event": data["event"], "url": data["url"]})


def post_event(sim, url: str, event: str, payload: dict, *, key: str = SIGNING_KEY, event_id: str = ""):
    body = json.dumps(
        {
            "deviceId": DEVICE_ID,
            "event": event,
            "id": event_id or _short_id(),
            "payload": payload,
            "webhookId": _short_id(),
        }
    ).encode()
    timestamp = str(int(time.time()))
    signature = hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Signature": signature, "X-Timestamp": timestamp}
    return sim.session.post(url, data=body, headers=headers, timeout=15)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime())


def report(sim, message, status, error_code, target):
    event = EVENTS.get(status, "sms:sent")
    url = sim.webhooks.get("android", {}).get(event) or target
    payload = {"messageId": message.provider_message_id, "recipient": message.to, "simNumber": 1}
    payload[TIME_FIELDS[event]] = _now()
    if event == "sms:failed":
        payload["reason"] = error_code or "RESULT_ERROR_GENERIC_FAILURE"
    return post_event(sim, url, event, payload)


def reply(sim, url, incoming):
    payload = {
        "messageId": hashlib.sha256(incoming.text.encode()).hexdigest()[:16],  # content-based, as the app's
        "message": incoming.text,
        "sender": incoming.sender,
        "recipient": incoming.recipient or None,
        "simNumber": 1,
        "receivedAt": _now(),
    }
    target = url or sim.webhooks.get("android", {}).get("sms:received", "")
    return post_event(
        sim, target, "sms:received", payload, key=incoming.auth_token or SIGNING_KEY, event_id=incoming.reply_id
    )


def _is_send(path: str) -> bool:
    return path in ("/3rdparty/v1/messages", "/message")


PROVIDER = SimulatedProvider(
    name="android",
    routes=(
        Route(send, path=_is_send, method="POST"),
        Route(webhooks, path=lambda path: path in ("/3rdparty/v1/webhooks", "/webhooks"), is_send=False),
    ),
    report=report,
    reply=reply,
    error_body=error_body,
    new_id=lambda n: _short_id(),
)
