"""The generic HTTP provider: any method on `/generic/...`, recipients and text read from JSON, a
form or the query string (whatever a gateway's templates produce); answers
`{"id": ..., "status": "accepted"}` and reports with a plain form."""

import json
from urllib.parse import parse_qs

from gateways.simulator.outbox import SentMessage
from gateways.simulator.providers import Route, SimulatedProvider, now_iso


def _recipients_and_text(exchange) -> tuple[str, str]:
    recipients, text = "", ""
    if "json" in exchange.headers.get("Content-Type", ""):
        try:
            data = json.loads(exchange.body or b"{}")
        except ValueError:
            data = {}
        if isinstance(data, dict):
            recipients = data.get("recipients") or data.get("to") or ""
            text = data.get("text") or data.get("message") or ""
    else:
        fields = parse_qs(exchange.body.decode(errors="replace")) if exchange.body else exchange.query
        recipients = (fields.get("recipients") or fields.get("to") or [""])[0]
        text = (fields.get("text") or fields.get("message") or [""])[0]
    if isinstance(recipients, list):
        recipients = ",".join(recipients)
    return str(recipients), str(text)


def send(sim, exchange, error_code) -> None:
    if error_code:
        return exchange.send(200, {"status": "error", "error": error_code})
    recipients, text = _recipients_and_text(exchange)
    provider_id = sim.new_id("generic")
    # One id per request: a multi-recipient request is one message to the simulator.
    sim.accept(SentMessage("generic", provider_id, recipients, text))
    exchange.send(200, {"id": provider_id, "status": "accepted"})


def report(sim, message, status, error_code, target):
    form = {"id": message.provider_message_id, "status": status}
    if error_code:
        form["error"] = error_code
    return sim.session.post(target, data=form, timeout=15)


def reply(sim, url, incoming):
    form = {
        "id": incoming.reply_id,
        "from": incoming.sender,
        "to": incoming.recipient,
        "text": incoming.text,
        "date": now_iso(),
    }
    return sim.session.post(url, data=form, timeout=15)


PROVIDER = SimulatedProvider(
    name="generic",
    routes=(Route(send, path=lambda path: path.startswith("/generic")),),
    report=report,
    reply=reply,
)
