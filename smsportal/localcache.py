"""Short-lived per-process caches for what every hot request reads and rarely changes: an API
key's organization, an organization's send gateway, a webhook's gateway and adapter.

A process keeps a value for at most SMSPORTAL_LOCAL_CACHE_SECONDS (default 5; 0 turns caching
off). A change made in another process (a revoked key, an edited gateway) takes effect everywhere
within that time; in the process that made it, at once: saving or deleting one of the models in
`INVALIDATING_MODELS`, or calling `local_caches_clear()` after a queryset `update()`, empties every
cache. Values must be treated as read-only by callers (they are shared between requests).
"""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from cachetools import TTLCache
from django.conf import settings

INVALIDATING_MODELS = [
    "entities.Organization",
    "entities.ApiKey",
    "entities.ConsentProgram",
    "gateways.Gateway",
    "gateways.InboundNumber",
    "gateways.GatewayRoute",
    "plugins.PluginRegistration",
    "messaging.KeywordCommand",
]

_caches: list["LocalCache"] = []
_clock = time.monotonic  # what expiry is measured with (tests move it forward)


class LocalCache:
    def __init__(self, name: str, maxsize: int = 4096):
        self.name = name
        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._store: TTLCache | None = None
        # Bumped by clear(): a value loaded before a clear is not stored after it.
        self._generation = 0
        _caches.append(self)

    def get_or_load(self, key: Hashable, load: Callable[[], Any]) -> Any:
        ttl = settings.SMSPORTAL_LOCAL_CACHE_SECONDS
        if ttl <= 0:
            return load()
        with self._lock:
            if self._store is None:
                self._store = TTLCache(self.maxsize, ttl, timer=lambda: _clock())
            generation = self._generation
            try:
                return self._store[key]
            except KeyError:
                pass
        value = load()
        with self._lock:
            if self._store is not None and generation == self._generation:
                self._store[key] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self._store = None
            self._generation += 1


def local_caches_clear(*args, **kwargs) -> None:
    """Empty every local cache of this process (also a post_save/post_delete receiver)."""
    for cache in _caches:
        cache.clear()


def connect_invalidation() -> None:
    from django.apps import apps
    from django.db.models.signals import post_delete, post_save

    for label in INVALIDATING_MODELS:
        model = apps.get_model(label)
        post_save.connect(local_caches_clear, sender=model, dispatch_uid=f"localcache-save-{label}")
        post_delete.connect(local_caches_clear, sender=model, dispatch_uid=f"localcache-delete-{label}")
