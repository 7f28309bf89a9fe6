"""Thin Celery tasks: ids in, one service call, retry policy here and nothing else.

Tasks import the services; a service enqueues a task by its name (smsportal/enqueue.py), never by
importing this module."""

from celery import shared_task

from messaging.services.delivery import outbound_deliver
from messaging.services.dispatch import outbound_dispatch
from messaging.services.reconcile import outbound_reconcile, outbound_sweep
from messaging.services.routing import inbound_route, inbound_route_pending, inbound_sweep
from messaging.services.status import simulated_reports_apply


@shared_task(acks_late=True)
def outbound_dispatch_task() -> int:
    return outbound_dispatch()


@shared_task(acks_late=True)
def outbound_deliver_task(message_ids: list[str]) -> None:
    plan = outbound_deliver(message_ids=message_ids)
    if plan is not None:
        # A retry is a new task with a countdown; the rows say when they are due, so a lost
        # retry is recovered by the sweeper.
        outbound_deliver_task.apply_async((plan.message_ids,), countdown=plan.countdown)


@shared_task
def outbound_sweep_task() -> dict:
    """Beat, every 30 s: recover abandoned rows, then ask providers about `unknown` ones."""
    return {"sweep": outbound_sweep(), "reconcile": outbound_reconcile()}


@shared_task(acks_late=True)
def inbound_route_task(message_id: str | None = None) -> int:
    """Route one inbound message, or every one still waiting (the debounced run)."""
    if message_id is not None:
        return int(inbound_route(message_id=message_id) is not None)
    return inbound_route_pending()


@shared_task
def inbound_sweep_task() -> dict:
    return inbound_sweep()


@shared_task(acks_late=True)
def simulator_reports_task(gateway_id: str, reports: list[dict]) -> int:
    """The built-in simulator's delivery reports, a moment after its "send" (like a provider's webhook)."""
    return simulated_reports_apply(gateway_id=gateway_id, reports=reports)
