"""What the layers above messaging do when it routes a reply or a delivery status changes.

plugins/ (above messaging in docs/architecture.md's order) registers a listener from its
AppConfig.ready(); messaging calls the listeners and never imports them.
"""

from typing import Protocol


class RoutingBatch(Protocol):
    """A listener's share of one routing batch (one organization): told of each reply matched to
    one contact; `flush()` writes inside the batch's transaction."""

    def matched(self, *, message, entity, names: list[str] | None) -> None: ...

    def flush(self) -> None: ...


class Listener(Protocol):
    def routing_batch(self, organization) -> RoutingBatch: ...

    def delivery_status_changed(self, *, message, previous_status: str) -> None: ...


_listeners: list[Listener] = []


def listen(listener: Listener) -> None:
    if listener not in _listeners:
        _listeners.append(listener)


def routing_batches(organization) -> list[RoutingBatch]:
    return [listener.routing_batch(organization) for listener in _listeners]


def delivery_status_changed(*, message, previous_status: str) -> None:
    for listener in _listeners:
        listener.delivery_status_changed(message=message, previous_status=previous_status)
