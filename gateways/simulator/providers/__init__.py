"""The simulator's provider registry: one module here per provider wire format.

Each module declares `PROVIDER = SimulatedProvider(...)`: the routes it answers (sends, and
lookups such as Twilio's message list), how it renders delivery reports and replies, its error
bodies and message ids. The modules are found by listing this package, so adding a provider to the
simulator means adding its module here and nothing else.
"""

import base64
import importlib
import pkgutil
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any, Protocol

import requests

from gateways.simulator.http_server import Exchange
from gateways.simulator.outbox import IncomingReply, SentMessage


class Simulator(Protocol):
    """What wire-format modules and the control API use of the running simulator
    (gateways/simulator/server.py, which dispatches to them)."""

    messages: dict[str, SentMessage]
    requests: Any  # the RecordedRequest log
    status_urls: dict[str, str]
    webhooks: dict[str, dict[str, str]]  # registered through a provider's API: provider → event → URL
    auto_report: str | None
    bulksms_rendering: str
    sns_topic_arn: str
    session: requests.Session

    def next_number(self) -> int: ...
    def new_id(self, provider: str) -> str: ...
    def accept(self, message: SentMessage) -> None: ...
    def behave(self, **kwargs) -> None: ...
    def reset(self) -> None: ...
    def deliver(
        self, provider_message_id: str, status: str = ..., url: str | None = ..., error_code: str | None = ...
    ) -> int: ...
    def reply(self, provider: str, url: str, **kwargs) -> requests.Response: ...
    def sns_envelope(self, message: str, **kwargs) -> dict: ...


# A route's handler answers the exchange; `error_code` is the fault mode's provider error, if any.
Handler = Callable[[Simulator, Exchange, str | None], None]


@dataclass(frozen=True)
class Route:
    handle: Handler
    path: Callable[[str], bool] = lambda path: True
    method: str | None = None  # None: any method
    header: tuple[str, str] | None = None  # (name, value prefix) the request must carry
    is_send: bool = True  # sends are recorded and subject to fault modes; lookups are neither

    def matches(self, exchange: Exchange) -> bool:
        if self.method is not None and exchange.method != self.method:
            return False
        if self.header is not None and not exchange.headers.get(self.header[0], "").startswith(self.header[1]):
            return False
        return self.path(exchange.path)


def plain_error_body(status: int, error_code: str | None) -> Any:
    return {"status": "error", "error": error_code or str(status)}


def random_id(n: int) -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class SimulatedProvider:
    name: str  # as in `behave(provider=...)`, `--status-url NAME=...` and RecordedRequest.provider
    routes: tuple[Route, ...]
    # Post a delivery report for `message` to `target`, in this provider's format.
    report: Callable[[Simulator, SentMessage, str, str | None, str], requests.Response]
    # Post an incoming SMS to `url`, in this provider's format.
    reply: Callable[[Simulator, str, IncomingReply], requests.Response]
    error_body: Callable[[int, str | None], Any] = plain_error_body
    new_id: Callable[[int], str] = random_id  # given the simulator's running counter


@cache
def registered() -> dict[str, SimulatedProvider]:
    found = {}
    for module_info in pkgutil.iter_modules(__path__):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        provider = getattr(module, "PROVIDER", None)
        if provider is not None:
            found[provider.name] = provider
    return found


def get(name: str) -> SimulatedProvider:
    try:
        return registered()[name]
    except KeyError:
        raise ValueError(f"unknown provider {name!r}: one of {', '.join(registered())}") from None


@cache
def _routes() -> tuple[tuple[SimulatedProvider, Route], ...]:
    # Header-matched routes first: AWS is recognised by X-Amz-Target whatever the path.
    pairs = [(provider, route) for provider in registered().values() for route in provider.routes]
    return tuple(sorted(pairs, key=lambda pair: pair[1].header is None))


def route_for(exchange: Exchange) -> tuple[SimulatedProvider, Route] | None:
    return next(((p, r) for p, r in _routes() if r.matches(exchange)), None)


# -- what several wire formats share ---------------------------------------------------------


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def basic_auth(headers) -> tuple[str, str]:
    value = headers.get("Authorization", "")
    if not value.startswith("Basic "):
        return "", ""
    try:
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    except ValueError:
        return "", ""
    return user, password
