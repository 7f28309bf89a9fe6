"""The routing process (`manage.py route_replies`): replies routed as they arrive, no task each.

A Celery task costs its worker more CPU than a lone reply's routing run does in the run's
place (the broker's bookkeeping, the pool's hand-over; docs/performance.md), and at a low rate
every reply is a run of its own. This process blocks on a Redis list instead: a webhook that
raises the route-pending flag pushes one wake-up onto it in the same round trip
(`inbound_route_request`), and the process runs `inbound_route_pending()` — the same run a
Celery task would, plugin calls included (its first chunk here, further chunks published).

Nothing is lost with it: rows wait in PostgreSQL as `received`, so a wake-up lost with Redis
or with a killed process is made up by the sweeper; while no process is alive (its key expires
`SMSPORTAL_ROUTER_ALIVE_SECONDS` after its last sign of life), webhooks publish Celery tasks as
before. Several processes may run: each wake-up wakes one, and runs claim rows SKIP LOCKED.
"""

import logging
import os
import threading

from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, connections

from messaging.services.routing import ROUTER_ALIVE, ROUTER_WAKE, inbound_route_pending
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
    routed = _route(client)  # what arrived while no process was listening
    while not stop.is_set():
        try:
            client.set(ROUTER_ALIVE, os.getpid(), ex=alive_seconds)
            woken = client.blpop([ROUTER_WAKE], timeout=wait_seconds)
        except Exception:  # noqa: BLE001 — Redis away: webhooks publish tasks meanwhile
            logger.warning("routing process: Redis unavailable; retrying", exc_info=True)
            stop.wait(wait_seconds)
            continue
        if woken is not None:
            routed += _route(client)
    try:
        client.delete(ROUTER_ALIVE)  # webhooks publish tasks from now on, not wake-ups nobody takes
    except Exception:  # noqa: BLE001 — it expires by itself
        logger.warning("routing process: alive key not cleared", exc_info=True)
    connections.close_all()
    return routed


def _route(client) -> int:
    for attempt in (1, 2):
        close_old_connections()  # CONN_MAX_AGE, as around a Celery task
        try:
            return inbound_route_pending()
        except (OperationalError, InterfaceError):
            # Most often a connection PostgreSQL dropped while this process waited (a restart):
            # the run rolled back, so run it once more on a new connection rather than leave the
            # reply to the sweeper.
            connections.close_all()
            if attempt == 2:
                logger.exception("routing process: database unavailable; the sweeper will route what waits")
        except Exception:  # noqa: BLE001 — rolled back: the rows stay `received` for the next run or the sweeper
            logger.exception("routing process: routing run failed")
            connections.close_all()
            break
    return 0
