"""Kannel's smsbox: `GET /cgi-bin/sendsms` answered `202 0: Accepted for delivery` (plain text),
delivery reports by calling the message's `dlr-url` with `%d`/`%A` filled in, replies by calling
an sms-service get-url with the documented fields. The real loop (bearerbox, smsbox, fakesmsc) is
tested by tests/gateways/test_kannel_real.py; this stand-in serves the contract and benchmarks."""

import time
from urllib.parse import parse_qs, quote, urlsplit

from gateways.simulator.outbox import SentMessage
from gateways.simulator.providers import Route, SimulatedProvider

# Our status → Kannel's DLR type (%d).
DLR_TYPES = {"delivered": 1, "undelivered": 2, "queued": 4, "sent": 8, "failed": 16}


def error_body(status, error_code):
    return f"{error_code or 'Temporal failure, try again later.'}"


def send(sim, exchange, error_code) -> None:
    query = {k: v[0] for k, v in exchange.query.items()}
    if not query.get("username") or not query.get("password"):
        return exchange.send(403, "Authorization failed for sendsms", content_type="text/html")
    if not query.get("to") or "text" not in query:
        return exchange.send(400, "Missing receiver number, rejected", content_type="text/html")
    if error_code:
        return exchange.send(400, error_code, content_type="text/html")
    # Kannel's reports name a message by our id in its dlr-url (Kannel itself answers no id).
    dlr_url = query.get("dlr-url", "")
    reference = parse_qs(urlsplit(dlr_url).query).get("ref", [""])[0]
    provider_id = reference or sim.new_id("kannel")
    sim.accept(
        SentMessage("kannel", provider_id, query["to"], query["text"], query.get("from", ""), reference, dlr_url)
    )
    exchange.send(202, "0: Accepted for delivery", content_type="text/html")


def report(sim, message, status, error_code, target):
    kind = DLR_TYPES.get(status, 8)
    answer = quote(f"NACK/{error_code}" if error_code else "ACK/", safe="")
    url = target.replace("%d", str(kind)).replace("%A", answer)
    return sim.session.get(url, timeout=15)


def reply(sim, url, incoming):
    params = {
        "from": incoming.sender,
        "to": incoming.recipient,
        "text": incoming.text,
        "time": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        "ts": str(int(time.time())),
        "smsc": "smpp-operator",
        "id": incoming.reply_id,
    }
    return sim.session.get(url, params=params, timeout=15)


PROVIDER = SimulatedProvider(
    name="kannel",
    routes=(Route(send, path=lambda path: path == "/cgi-bin/sendsms"),),
    report=report,
    reply=reply,
    error_body=error_body,
)
