"""Live events for open portal pages, one channel per organization.

Redis pub/sub when Redis is configured (several web and worker processes), an in-process
fan-out otherwise (the embedded mode, where tasks run in the web process).
Events carry ids and statuses; pages fetch what they show through org-scoped views.
"""

import json
import logging
import queue
import threading
from collections.abc import Iterator

from smsportal.redis import get_redis

logger = logging.getLogger(__name__)
_local_subscribers: dict[str, set[queue.Queue]] = {}
_lock = threading.Lock()


def channel_name(organization_id) -> str:
    return f"smsportal:live:{organization_id}"


def publish(*, organization_id, event: str, data: dict) -> None:
    """Publish one event to the organization's channel. Never raises into the pipeline."""
    publish_many([(organization_id, event, data)])


def publish_many(events: list[tuple]) -> None:
    """Publish (organization id, event, data) triples, in one Redis round trip (a pipeline:
    a routed batch or a chunk of plugin outcomes is one call, not one per event)."""
    if not events:
        return
    payloads = [(str(org), json.dumps({"event": event, "data": data}, default=str)) for org, event, data in events]
    client = get_redis()
    if client is not None:
        try:
            if len(payloads) == 1:
                client.publish(channel_name(payloads[0][0]), payloads[0][1])
            else:
                pipe = client.pipeline(transaction=False)
                for org, payload in payloads:
                    pipe.publish(channel_name(org), payload)
                pipe.execute()
        except Exception:  # live updates are best effort; the database is the record
            logger.warning("live events not published", extra={"events": len(payloads)})
        return
    for org, payload in payloads:
        with _lock:
            subscribers = list(_local_subscribers.get(org, ()))
        for q in subscribers:
            q.put_nowait(payload)


def subscribe(*, organization_id, timeout: float = 15.0) -> Iterator[str | None]:
    """Yield JSON payloads for the organization as they come; None every `timeout` s (keep-alive)."""
    client = get_redis()
    if client is not None:
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(channel_name(organization_id))
        try:
            while True:
                message = pubsub.get_message(timeout=timeout)
                yield message["data"].decode() if message else None
        finally:
            pubsub.close()
    q: queue.Queue = queue.Queue()
    with _lock:
        _local_subscribers.setdefault(str(organization_id), set()).add(q)
    try:
        while True:
            try:
                yield q.get(timeout=timeout)
            except queue.Empty:
                yield None
    finally:
        with _lock:
            _local_subscribers.get(str(organization_id), set()).discard(q)
