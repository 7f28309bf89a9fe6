"""Routing helpers the outbound pipeline calls: down-marking, fallback choice, per-gateway send rate.

- A gateway that fails transiently (connect errors, 429, 5xx) SMSPORTAL_GATEWAY_DOWN_AFTER times in a
  row is marked down for SMSPORTAL_GATEWAY_DOWN_SECONDS; while down, its queued messages go to its
  fallback gateway (if any) without calling it. A success clears the count.
- `rate_limit_per_second` is enforced across every worker with one Redis key per gateway and a Lua
  script (GCRA / virtual scheduling): each sender reserves n slots and waits until its slot comes.
  `sender_rate_limit_per_second` does the same per sender number (one key per gateway and number).
  Where the provider counts segments (`Capabilities.counts_segments`: Twilio, End User Messaging) a
  slot is a segment, so a 3-part message uses three.
  The reservation is atomic in Redis and timed by the Redis server clock, so workers on different
  hosts share one budget. Without Redis (embedded mode) the same algorithm runs per process.
"""

import logging
import threading
import time
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from gateways.exceptions import GatewayAmbiguousError, GatewayRejectedError, GatewayTemporaryError
from gateways.models import Gateway
from gateways.providers.base import OutboundSms, ProviderAdapter, SendResult
from smsportal.localcache import local_caches_clear
from smsportal.redis import get_redis

logger = logging.getLogger(__name__)

RATE_KEY = "smsportal:gateway-rate:{}"
# Reserve n slots of `interval` seconds; returns (as a string: Lua floats would be truncated)
# how long the caller must wait before sending them. State = the next free slot time ("tat").
_RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local new_tat = tat + tonumber(ARGV[1]) * tonumber(ARGV[2])
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return tostring(tat - now)
"""
MAX_PACING_WAIT = 20.0  # seconds a worker may wait for its slot before deferring the rest
CHUNK_SECONDS = 0.2  # a rate-limited batch goes out in chunks of this many seconds' worth

_local_lock = threading.Lock()
_local_tat: dict[str, float] = {}


def down_after() -> int:
    return int(getattr(settings, "SMSPORTAL_GATEWAY_DOWN_AFTER", 5))


def down_seconds() -> float:
    return float(getattr(settings, "SMSPORTAL_GATEWAY_DOWN_SECONDS", 60))


def gateway_is_down(gateway: Gateway) -> bool:
    return bool(gateway.down_until and gateway.down_until > timezone.now())


def gateway_usable_fallback(gateway: Gateway) -> Gateway | None:
    fallback = gateway.fallback if gateway.fallback_id else None
    if fallback is None or not fallback.is_active or fallback.pk == gateway.pk or gateway_is_down(fallback):
        return None
    return fallback


def gateway_failure_note(gateway: Gateway) -> bool:
    """Count a transient failure; mark the gateway down after too many in a row. True if now down."""
    Gateway.objects.filter(pk=gateway.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    failures = Gateway.objects.filter(pk=gateway.pk).values_list("consecutive_failures", flat=True).first() or 0
    if failures >= down_after() and not gateway_is_down(gateway):
        gateway.down_until = timezone.now() + timedelta(seconds=down_seconds())
        Gateway.objects.filter(pk=gateway.pk).update(down_until=gateway.down_until)
        local_caches_clear()  # new sends in this process start on the fallback at once
        logger.warning("gateway marked down", extra={"gateway": gateway.uid, "failures": failures})
        return True
    return False


def gateway_success_note(gateway: Gateway) -> None:
    if gateway.consecutive_failures or gateway.down_until:
        Gateway.objects.filter(pk=gateway.pk).update(consecutive_failures=0, down_until=None)
        if gateway.down_until:
            local_caches_clear()
        gateway.consecutive_failures, gateway.down_until = 0, None


def rate_limit_reserve(gateway: Gateway, count: int, *, sender: str = "", rate: float | None = None) -> float:
    """Reserve `count` units (messages, or segments where the provider counts segments) at the
    gateway's rate, or with `sender` at its per-sender rate; returns the seconds to wait."""
    rate = rate if rate is not None else gateway.rate_limit_per_second
    if not rate or rate <= 0 or count <= 0:
        return 0.0
    interval = 1.0 / rate
    key = RATE_KEY.format(f"{gateway.pk}:{sender}" if sender else gateway.pk)
    client = get_redis()
    if client is not None:
        try:
            return max(0.0, float(client.eval(_RESERVE_LUA, 1, key, count, interval)))
        except Exception:  # noqa: BLE001 — Redis down: fall back to the per-process limiter
            logger.warning("rate limiter: Redis unavailable, pacing per process", extra={"gateway": gateway.uid})
    with _local_lock:
        now = time.monotonic()
        tat = max(_local_tat.get(key, 0.0), now)
        _local_tat[key] = tat + count * interval
        return tat - now


def _units(adapter: ProviderAdapter, messages: Sequence[OutboundSms]) -> int:
    """What the provider's limit counts: segments where it counts segments, else messages."""
    if adapter.capabilities.counts_segments:
        return sum(max(1, m.segments) for m in messages)
    return len(messages)


def _chunk_wait(adapter: ProviderAdapter, chunk: Sequence[OutboundSms]) -> float:
    """Reserve a chunk on the gateway's budget and on each of its sender numbers' budgets."""
    gateway = adapter.gateway
    wait = rate_limit_reserve(gateway, _units(adapter, chunk))
    per_sender = gateway.sender_rate_limit_per_second
    if per_sender and per_sender > 0:
        by_sender: dict[str, list[OutboundSms]] = {}
        for m in chunk:
            by_sender.setdefault(m.sender or "-", []).append(m)
        for sender, group in by_sender.items():
            wait = max(wait, rate_limit_reserve(gateway, _units(adapter, group), sender=sender, rate=per_sender))
    return wait


def send_batch_paced(adapter: ProviderAdapter, messages: Sequence[OutboundSms]) -> list[SendResult]:
    """`adapter.send_batch`, paced to the gateway's rate limit.

    Without a limit this is one call. With one, the batch goes out in small chunks, each after
    its reserved slot. If a later chunk fails, the chunks already accepted keep their results
    (they must never be sent again); the failed chunk's messages get that error's result, and
    messages not yet tried are deferred as temporary results.
    """
    gateway = adapter.gateway
    rates = [r for r in (gateway.rate_limit_per_second, gateway.sender_rate_limit_per_second) if r and r > 0]
    if not rates:
        return adapter.send_batch(messages)
    # Chunks of CHUNK_SECONDS at the strictest rate, in messages (a multi-segment message uses more).
    size = max(1, min(len(messages), int(min(rates) * CHUNK_SECONDS), adapter.capabilities.max_batch_size * 50))
    chunks = [list(messages[i : i + size]) for i in range(0, len(messages), size)]
    results: list[SendResult] = []
    for n, chunk in enumerate(chunks):
        wait = _chunk_wait(adapter, chunk)
        if wait > MAX_PACING_WAIT:
            # Too far behind: give the slots' worth back to the queue rather than hold the worker.
            results.extend(_deferred(m, "RESULT_CODE_429", "rate limit: deferred") for c in chunks[n:] for m in c)
            break
        if wait > 0:
            time.sleep(wait)  # pacing to the reserved slot
        try:
            results.extend(adapter.send_batch(chunk))
        except GatewayTemporaryError as exc:
            if not results:
                raise
            results.extend(_deferred(m, exc.result_code, str(exc)) for c in chunks[n:] for m in c)
            break
        except GatewayRejectedError as exc:
            if not results:
                raise
            results.extend(
                SendResult(reference=m.reference, accepted=False, result_code=exc.result_code, error=str(exc))
                for m in chunk
            )
        except GatewayAmbiguousError:
            if not results:
                raise
            # This chunk's outcome is unknown: leave it out (recorded `unknown`); defer the rest.
            results.extend(
                _deferred(m, "RESULT_CODE_504", "not tried after an ambiguous send") for c in chunks[n + 1 :] for m in c
            )
            break
    return results


def _deferred(message: OutboundSms, result_code: str, error: str) -> SendResult:
    return SendResult(
        reference=message.reference, accepted=False, temporary=True, result_code=result_code, error=error[:64]
    )
