"""One pooled Redis client per process (rate limits, dispatch debounce, live events)."""

from functools import lru_cache

from django.conf import settings


def redis_url() -> str:
    url = settings.REDIS_URL or settings.CELERY_BROKER_URL
    return url if url.startswith(("redis://", "rediss://", "unix://")) else ""


@lru_cache(maxsize=2)
def _client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2, health_check_interval=30)


def get_redis():
    """The shared client, or None in the embedded mode (no Redis configured)."""
    url = redis_url()
    return _client(url) if url else None
