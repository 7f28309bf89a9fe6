"""The control API under `/_sim/`: what `make simulator` users and bench/ drive over HTTP instead
of calling `ProviderSimulator` methods in-process (docs/gateways.md lists the actions)."""

import json
from collections.abc import Callable

from gateways.simulator.http_server import Exchange
from gateways.simulator.providers import Simulator

PREFIX = "/_sim/"


def _behave(sim, data, exchange) -> None:
    sim.behave(
        provider=data.get("provider"),
        status=data.get("status"),
        delay=float(data.get("delay") or 0),
        error_code=data.get("errorCode"),
        times=data.get("times"),
        retry_after=data.get("retryAfter"),
        after=int(data.get("after") or 0),
        drop=bool(data.get("drop")),
    )
    exchange.send(200, {"ok": True})


def _reset(sim, data, exchange) -> None:
    sim.reset()
    exchange.send(200, {"ok": True})


def _config(sim, data, exchange) -> None:
    sim.status_urls.update(data.get("statusUrls") or {})
    if "autoReport" in data:
        sim.auto_report = data["autoReport"] or None
    exchange.send(200, {"ok": True})


def _requests(sim, data, exchange) -> None:
    rows = [
        {
            "provider": r.provider,
            "method": r.method,
            "path": r.path,
            "query": r.query,
            "headers": dict(r.headers),
            "at": r.at,
            "body": r.body.decode(errors="replace"),
        }
        for r in list(sim.requests)
    ]
    exchange.send(200, {"requests": rows})


def _messages(sim, data, exchange) -> None:
    exchange.send(200, {"messages": [m.__dict__ for m in list(sim.messages.values())]})


def _deliver(sim, data, exchange) -> None:
    try:
        status = sim.deliver(
            data["providerMessageId"], data.get("status", "delivered"), data.get("url"), data.get("errorCode")
        )
    except (KeyError, ValueError) as exc:
        return exchange.send(400, {"error": str(exc)})
    exchange.send(200, {"posted": True, "responseStatus": status})


def _reply(sim, data, exchange) -> None:
    try:
        response = sim.reply(
            data["provider"],
            data["url"],
            sender=data["from"],
            recipient=data.get("to", ""),
            text=data["text"],
            related_message_id=data.get("relatedMessageId", ""),
            auth_token=data.get("authToken", ""),
            reply_id=data.get("replyId", ""),
        )
    except KeyError as exc:
        return exchange.send(400, {"error": f"missing {exc}"})
    except ValueError as exc:
        return exchange.send(400, {"error": str(exc)})
    exchange.send(200, {"posted": True, "responseStatus": response.status_code})


# (action, method) → handler; the read-only actions answer any method.
ACTIONS: dict[tuple[str, str | None], Callable] = {
    ("behave", "POST"): _behave,
    ("reset", "POST"): _reset,
    ("config", "POST"): _config,
    ("requests", None): _requests,
    ("messages", None): _messages,
    ("deliver", "POST"): _deliver,
    ("reply", "POST"): _reply,
}


def handle(sim: Simulator, exchange: Exchange) -> None:
    action = exchange.path[len(PREFIX) :]
    handler = ACTIONS.get((action, exchange.method)) or ACTIONS.get((action, None))
    if handler is None:
        return exchange.send(404, {"error": "unknown control action"})
    try:
        data = json.loads(exchange.body) if exchange.body else {}
    except ValueError:
        return exchange.send(400, {"error": "the body is not JSON"})
    handler(sim, data, exchange)
