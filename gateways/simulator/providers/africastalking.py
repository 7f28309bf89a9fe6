"""Africa's Talking: `POST /version1/messaging` (form, `apiKey` header) answered 201 with
`SMSMessageData.Recipients[]`, delivery reports and incoming messages as form-encoded POSTs.
A provider error code (`behave(error_code="403")`) becomes that statusCode for every recipient."""

import time
import uuid
from urllib.parse import parse_qs

from gateways.simulator.outbox import SentMessage
from gateways.simulator.providers import Route, SimulatedProvider

STATUS_NAMES = {
    "101": "Success",
    "401": "RiskHold",
    "402": "InvalidSenderId",
    "403": "InvalidPhoneNumber",
    "405": "InsufficientBalance",
    "406": "UserInBlacklist",
    "407": "CouldNotRoute",
    "500": "InternalServerError",
    "501": "GatewayError",
    "502": "RejectedByGateway",
}
# Our status → the delivery report's `status`.
REPORT_STATUS = {"sent": "Sent", "delivered": "Success", "undelivered": "AbsentSubscriber", "failed": "Rejected"}


def error_body(status, error_code):
    return error_code or "The supplied authentication is invalid"


def new_id(n: int) -> str:
    return f"ATXid_{uuid.uuid4().hex}"


def send(sim, exchange, error_code) -> None:
    if not exchange.headers.get("apiKey"):
        return exchange.send(401, "The supplied authentication is invalid", content_type="text/plain")
    form = {k: v[0] for k, v in parse_qs(exchange.body.decode(), keep_blank_values=True).items()}
    numbers = [n.strip() for n in form.get("to", "").split(",") if n.strip()]
    if not form.get("username") or not numbers or not form.get("message"):
        return exchange.send(400, "Request is missing required form field 'to'", content_type="text/plain")
    recipients = []
    for number in numbers:
        if error_code:
            recipients.append(
                {
                    "statusCode": int(error_code),
                    "number": number,
                    "status": STATUS_NAMES.get(error_code, "Failed"),
                    "cost": "0",
                    "messageId": "None",
                }
            )
            continue
        provider_id = sim.new_id("africastalking")
        sim.accept(SentMessage("africastalking", provider_id, number, form["message"], form.get("from", "")))
        recipients.append(
            {"statusCode": 101, "number": number, "status": "Success", "cost": "KES 0.8000", "messageId": provider_id}
        )
    accepted = sum(1 for r in recipients if r["statusCode"] == 101)
    exchange.send(
        201,
        {
            "SMSMessageData": {
                "Message": f"Sent to {accepted}/{len(numbers)} Total Cost: KES {0.8 * accepted:.4f}",
                "Recipients": recipients,
            }
        },
    )


def report(sim, message, status, error_code, target):
    form = {
        "id": message.provider_message_id,
        "status": REPORT_STATUS.get(status, "Sent"),
        "phoneNumber": message.to,
        "networkCode": "63902",
        "retryCount": "0",
    }
    if status in ("failed", "undelivered"):
        form["failureReason"] = error_code or "UserInBlacklist"
    return sim.session.post(target, data=form, timeout=15)


def reply(sim, url, incoming):
    form = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "from": incoming.sender,
        "id": incoming.reply_id,
        "linkId": uuid.uuid4().hex,
        "text": incoming.text,
        "to": incoming.recipient or "21525",
        "networkCode": "63902",
    }
    return sim.session.post(url, data=form, timeout=15)


PROVIDER = SimulatedProvider(
    name="africastalking",
    routes=(Route(send, path=lambda path: path == "/version1/messaging", method="POST"),),
    report=report,
    reply=reply,
    error_body=error_body,
    new_id=new_id,
)
