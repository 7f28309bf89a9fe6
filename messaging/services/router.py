"""The routing process (`manage.py route_replies`): replies routed as they arrive, no task each.

A Celery task costs its worker more CPU than a lone reply's routing run does in the run's
place (the broker's bookkeeping, the pool's hand-over; docs/performance.md), and at a low rate
every reply is a run of its own. This process blocks on a Redis list instead: a webhook that
raises the route-pending flag pushes one wake-up onto it in the same round trip
(`inbound_route_request`), and the process runs `inbound_route_pending()` — the same run a
Celery task would, plugin calls included (its first chunk here, further chunks published).

Its plugin calls run on a few threads of its own (`SMSPORTAL_ROUTER_CALL_THREADS`), so a slow
plugin holds one thread, not the routing of the replies behind it; with every thread busy, a
chunk is published to the Celery workers instead.

Nothing is lost with it: rows wait in PostgreSQL as `received`, so a wake-up lost with Redis
or with a killed process is made up by the sweeper; while no process is alive (its key expires
`SMSPORTAL_ROUTER_ALIVE_SECONDS` after its last sign of life), webhooks publish Celery tasks as
before. Several processes may run: each wake-up wakes one, and runs claim rows SKIP LOCKED.
"""

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connections

from messaging.services.routing import ROUTER_ALIVE, ROUTER_WAKE, inbound_route_pending
from smsportal.enqueue import followups_run_by, task_named
from smsportal.redis import get_redis

logger = logging.getLogger(__name__)


def router_serve(*, stop: threading.Event) -> int:
    """Route on every wake-up until `stop` is set; return how many replies were routed."""
    client = get_redis()
    if client is None:
        raise RuntimeError("the routing process needs Redis (REDIS_URL)")
    alive_seconds = settings.SMSPORTAL_ROUTER_ALIVE_SECONDS
    # Wake at least this often to say it is alive and to see `stop`.
    wait_seconds = max(1, min(4, alive_seconds // 3))  # under the client's 5 s socket timeout
    calls = _Calls(settings.SMSPORTAL_ROUTER_CALL_THREADS)
    followups_run_by(calls.take)
    try:
        routed = _route()  # what arrived while no process was listening
        while not stop.is_set():
            try:
                client.set(ROUTER_ALIVE, os.getpid(), ex=alive_seconds)
                woken = client.blpop([ROUTER_WAKE], timeout=wait_seconds)
            except Exception:  # noqa: BLE001 — Redis away: webhooks publish tasks meanwhile
                logger.warning("routing process: Redis unavailable; retrying", exc_info=True)
                stop.wait(wait_seconds)
                continue
            if woken is not None:
                routed += _route()
    finally:
        followups_run_by(None)
        calls.shutdown()  # the calls in flight finish (each within its plugin's timeout)
    try:
        client.delete(ROUTER_ALIVE)  # webhooks publish tasks from now on, not wake-ups nobody takes
    except Exception:  # noqa: BLE001 — it expires by itself
        logger.warning("routing process: alive key not cleared", exc_info=True)
    connections.close_all()
    return routed


class _Calls:
    """The routing process's plugin-call threads: takes a chunk while a thread is free."""

    def __init__(self, threads: int):
        self.free = threading.BoundedSemaphore(threads)
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="plugin-calls")

    def take(self, name: str, args: tuple) -> bool:
        if not self.free.acquire(blocking=False):
            return False  # every thread busy (slow plugins): a Celery worker calls this chunk
        self.pool.submit(self._run, name, args)
        return True

    def _run(self, name: str, args: tuple) -> None:
        try:
            # The task's body, as a worker runs it: claims, calls, records, schedules retries.
            _on_a_live_connection(lambda: task_named(name)(*args), f"follow-up {name}")
        finally:
            self.free.release()

    def shutdown(self) -> None:
        self.pool.shutdown(wait=True)


def _route() -> int:
    return _on_a_live_connection(inbound_route_pending, "routing run") or 0


def _on_a_live_connection(work, what: str):
    """`work()`, run once more on a new database connection if it failed on this thread's (most
    often one PostgreSQL dropped while the process waited: a restart). Safe for a routing run and a
    plugin chunk alike: a run that fails rolls back, and each claims its rows conditionally."""
    for attempt in (1, 2):
        close_old_connections()  # CONN_MAX_AGE, as around a Celery task
        try:
            return work()
        except (OperationalError, InterfaceError):
            connections.close_all()  # this thread's connections only
            if attempt == 2:
                logger.exception("routing process: database unavailable; the sweeper takes over", extra={"work": what})
        except Exception:  # noqa: BLE001 — rolled back: its rows wait for the next run or the sweeper
            logger.exception("routing process: work failed", extra={"work": what})
            connections.close_all()
            return None
    return None
