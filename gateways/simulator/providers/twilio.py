"""Twilio: `POST /2010-04-01/Accounts/<sid>/Messages.json` (form, Basic auth), the message list
the adapter reads back to find a send whose answer was lost, and callbacks signed with
`X-Twilio-Signature` using the auth token the send request carried."""

import time
import uuid
from urllib.parse import parse_qs

from gateways.simulator.outbox import SentMessage
from gateways.simulator.providers import Route, SimulatedProvider, basic_auth

API_VERSION = "2010-04-01"


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    from twilio.request_validator import RequestValidator

    return RequestValidator(auth_token).compute_signature(url, params)


def error_body(status, error_code):
    code = int(error_code) if error_code and error_code.isdigit() else 20500
    return {
        "code": code,
        "message": "simulated error",
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def new_id(n: int) -> str:
    return f"SM{uuid.uuid4().hex}"


def _is_messages_path(path: str) -> bool:
    return path.startswith(f"/{API_VERSION}/Accounts/") and path.endswith("/Messages.json")


def _authorised_account(exchange) -> tuple[str, str] | None:
    """(account sid, auth token) when Basic auth names the account in the path; else answers 401."""
    account_sid = exchange.path.split("/")[3]
    user, token = basic_auth(exchange.headers)
    if user != account_sid or not token:
        exchange.send(401, error_body(401, "20003"))
        return None
    return account_sid, token


def send(sim, exchange, error_code) -> None:
    account = _authorised_account(exchange)
    if account is None:
        return
    account_sid, token = account
    form = {k: v[0] for k, v in parse_qs(exchange.body.decode(), keep_blank_values=True).items()}
    if not form.get("To") or not form.get("Body") or not (form.get("From") or form.get("MessagingServiceSid")):
        return exchange.send(400, error_body(400, "21604"))
    if error_code:
        return exchange.send(400, error_body(400, error_code))
    sid = sim.new_id("twilio")
    sender, callback = form.get("From", ""), form.get("StatusCallback", "")
    sim.accept(SentMessage("twilio", sid, form["To"], form["Body"], sender, "", callback, account_sid, token))
    exchange.send(
        201,
        {
            "sid": sid,
            "status": "accepted" if form.get("MessagingServiceSid") else "queued",
            "to": form["To"],
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form["Body"],
            "num_segments": "1",
            "direction": "outbound-api",
            "account_sid": account_sid,
            "error_code": None,
            "error_message": None,
            "date_created": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
            "price": None,
            "api_version": API_VERSION,
        },
    )


def list_messages(sim, exchange, error_code) -> None:
    """List Messages filtered by `To`, newest first."""
    account = _authorised_account(exchange)
    if account is None:
        return
    account_sid = account[0]
    to = (exchange.query.get("To") or [""])[0]
    listed = [
        {
            "sid": m.provider_message_id,
            "to": m.to,
            "from": m.sender,
            "body": m.text,
            "status": "delivered",
            "date_created": m.created,
        }
        for m in reversed(list(sim.messages.values()))
        if m.provider == "twilio" and m.account_sid == account_sid and (not to or m.to == to)
    ]
    exchange.send(200, {"messages": listed, "next_page_uri": None, "page": 0, "page_size": len(listed)})


def _post_signed(sim, url: str, form: dict[str, str], auth_token: str):
    headers = {"X-Twilio-Signature": twilio_signature(auth_token, url, form)}
    return sim.session.post(url, data=form, headers=headers, timeout=15)


def report(sim, message, status, error_code, target):
    form = {
        "MessageSid": message.provider_message_id,
        "SmsSid": message.provider_message_id,
        "MessageStatus": status,
        "SmsStatus": status,
        "AccountSid": message.account_sid,
        "From": message.sender,
        "To": message.to,
        "ApiVersion": API_VERSION,
    }
    if status in ("failed", "undelivered"):
        form["ErrorCode"] = error_code or "30003"
    return _post_signed(sim, target, form, message.auth_token)


def reply(sim, url, incoming):
    form = {
        "MessageSid": incoming.reply_id,
        "SmsSid": incoming.reply_id,
        "SmsMessageSid": incoming.reply_id,
        "AccountSid": incoming.account_sid,
        "From": incoming.sender,
        "To": incoming.recipient,
        "Body": incoming.text,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": API_VERSION,
        "FromCountry": "US",
    }
    # Without a token given, sign with the one smsportal last sent with: the gateway's own.
    token = incoming.auth_token or next(
        (m.auth_token for m in sim.messages.values() if m.provider == "twilio" and m.auth_token), ""
    )
    return _post_signed(sim, url, form, token)


PROVIDER = SimulatedProvider(
    name="twilio",
    routes=(
        # The status lookup comes first: a GET on the send path lists, it does not send.
        Route(list_messages, path=_is_messages_path, method="GET", is_send=False),
        Route(send, path=_is_messages_path),
    ),
    report=report,
    reply=reply,
    error_body=error_body,
    new_id=new_id,
)
