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
    payload = json.dumps({"event": event, "data": data}, default=str)
    client = get_redis()
    if client is not None:
        try:
            client.publish(channel_name(organization_id), payload)
        except Exception:  # live updates are best effort; the database is the record
            logger.warning("live event not published", extra={"event": event})
        return
    with _lock:
        subscribers = list(_local_subscribers.get(str(organization_id), ()))
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
