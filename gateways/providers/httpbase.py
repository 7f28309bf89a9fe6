"""The base of every adapter that speaks HTTP: one pooled session, timeouts, error mapping.

Error classes decide what the pipeline does next (gateways/exceptions.py):
- the request provably never reached the provider (connect refused/timed out, DNS), 429, 5xx
  → GatewayTemporaryError (retry with backoff, then the fallback gateway);
- any other 4xx or a redirect → GatewayRejectedError (failed, with the provider's reason);
- a read timeout or a connection dropped after the request was written → GatewayAmbiguousError
  (the provider may have the message: never resent blindly).
"""

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar

import requests
from django.conf import settings
from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import ConnectTimeout, ReadTimeout
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError

from gateways.exceptions import GatewayAmbiguousError, GatewayRejectedError, GatewayTemporaryError
from gateways.providers.base import OutboundSms, ProviderAdapter, SendResult
from gateways.urlsafety import SafeHTTPAdapter, UnsafeUrlError, url_check

logger = logging.getLogger(__name__)

# DHIS2 GatewayResponse names for provider HTTP statuses (docs: /work/shared/reference/dhis2-sms-api.md).
_SAME_NUMBERED = {200, 207, 400, 401, 402, 403, 404, 405, 410, 429, 503}
SENT_CODES = {"RESULT_CODE_0", "RESULT_CODE_1", "RESULT_CODE_200", "RESULT_CODE_202"}
USER_AGENT = "smsportal/1.0"


def result_code_for_status(status: int) -> str:
    """DHIS2's mapping of a provider HTTP status to a RESULT_CODE_* name."""
    if status in (201, 202):
        return "RESULT_CODE_202"
    if status in _SAME_NUMBERED:
        return f"RESULT_CODE_{status}"
    if status >= 500:
        return "RESULT_CODE_504"
    return "FAILED"


_session_lock = threading.Lock()
_sessions: dict[int, requests.Session] = {}


def http_session() -> requests.Session:
    """One pooled session per process (connections are reused across tasks and gateways)."""
    import os

    pid = os.getpid()  # a forked worker must not share its parent's sockets
    session = _sessions.get(pid)
    if session is None:
        with _session_lock:
            session = _sessions.get(pid)
            if session is None:
                session = requests.Session()
                # Proxies from the environment would make the address check meaningless.
                session.trust_env = False
                adapter = SafeHTTPAdapter(pool_connections=32, pool_maxsize=64, max_retries=0)
                session.mount("http://", adapter)
                session.mount("https://", adapter)
                session.headers["User-Agent"] = USER_AGENT
                _sessions.clear()
                _sessions[pid] = session
    return session


_executors: dict[int, ThreadPoolExecutor] = {}


def _executor() -> ThreadPoolExecutor:
    """One thread pool per process for one-per-request providers (threads are not started per batch)."""
    import os

    pid = os.getpid()
    pool = _executors.get(pid)
    if pool is None:
        with _session_lock:
            pool = _executors.get(pid)
            if pool is None:
                pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="sms-send")
                _executors.clear()
                _executors[pid] = pool
    return pool


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class RequestsAdapter(ProviderAdapter):
    """An adapter calling a provider's HTTP API through the shared, address-checked session."""

    default_url: ClassVar[str] = ""

    @property
    def base_url(self) -> str:
        return (self.gateway.config.get("urlTemplate") or self.default_url).strip()

    @property
    def timeout(self) -> tuple[float, float]:
        total = float(getattr(settings, "SMSPORTAL_HTTP_TIMEOUT", 15.0))
        return (min(5.0, total), total)

    def secret(self, name: str, default: str = "") -> str:
        return str(self.gateway.secrets.get(name) or default)

    def request(self, method: str, url: str, *, ok: Callable[[requests.Response], bool] | None = None, **kwargs):
        """Send one request and map failures to the gateway error classes.

        Returns the response when it is a 2xx (or `ok(response)` says so); raises otherwise.
        """
        try:
            url_check(url, resolve=False)
        except UnsafeUrlError as exc:
            raise GatewayRejectedError(f"gateway URL refused: {exc}", result_code="FAILED")
        kwargs.setdefault("timeout", self.timeout)
        kwargs.setdefault("allow_redirects", False)
        try:
            response = http_session().request(method, url, **kwargs)
        except UnsafeUrlError as exc:
            raise GatewayRejectedError(f"gateway URL refused: {exc}", result_code="FAILED")
        except ConnectTimeout:
            raise GatewayTemporaryError("provider connect timeout", result_code="RESULT_CODE_504")
        except ReadTimeout:
            raise GatewayAmbiguousError("provider read timeout: the request may have been accepted")
        except RequestsConnectionError as exc:
            if _never_connected(exc):
                raise GatewayTemporaryError("provider unreachable (connection failed)", result_code="RESULT_CODE_504")
            raise GatewayAmbiguousError("connection lost after the request was sent")
        except requests.RequestException as exc:
            raise GatewayRejectedError(f"request could not be built: {type(exc).__name__}")
        if ok is not None and ok(response):
            return response
        status = response.status_code
        if 200 <= status < 300 and ok is None:
            return response
        detail = self.error_detail(response)
        if status == 429:
            raise GatewayTemporaryError(
                f"provider rate limit (HTTP 429){detail}",
                result_code="RESULT_CODE_429",
                retry_after=_retry_after(response),
            )
        if status >= 500:
            raise GatewayTemporaryError(
                f"provider error HTTP {status}{detail}",
                result_code=result_code_for_status(status),
                retry_after=_retry_after(response),
            )
        if 300 <= status < 400:
            raise GatewayRejectedError(f"provider redirected (HTTP {status}); redirects are not followed")
        raise GatewayRejectedError(
            f"provider refused HTTP {status}{detail}", result_code=result_code_for_status(status)
        )

    def error_detail(self, response: requests.Response) -> str:
        """A short provider error text for logs and the message's error_reason (never the body we sent)."""
        return ""

    def map_concurrent(self, func: Callable[[OutboundSms], SendResult], messages: Sequence[OutboundSms]):
        """Send one-per-request messages with `capabilities.concurrency` parallel requests.

        A temporary error for one message becomes a temporary SendResult; an ambiguous one is
        re-raised only when it is the whole batch (otherwise that message's result is absent,
        which the pipeline records as `unknown`).
        """
        workers = max(1, min(self.capabilities.concurrency, len(messages)))

        def one(message: OutboundSms) -> SendResult | None:
            try:
                return func(message)
            except GatewayTemporaryError as exc:
                if len(messages) == 1:
                    raise
                return SendResult(
                    reference=message.reference,
                    accepted=False,
                    temporary=True,
                    result_code=exc.result_code,
                    error=str(exc)[:64],
                )
            except GatewayRejectedError as exc:
                if len(messages) == 1:
                    raise
                return SendResult(
                    reference=message.reference, accepted=False, result_code=exc.result_code, error=str(exc)
                )
            except GatewayAmbiguousError:
                if len(messages) == 1:
                    raise
                return None

        if workers == 1:
            results = [one(m) for m in messages]
        else:
            gate = threading.BoundedSemaphore(workers)  # at most `workers` of this batch in flight

            def gated(message: OutboundSms) -> SendResult | None:
                with gate:
                    return one(message)

            results = list(_executor().map(gated, messages))
        return [r for r in results if r is not None]


def _never_connected(exc: BaseException) -> bool:
    """True when the exception chain shows no connection was ever made (so nothing was sent)."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, NewConnectionError | NameResolutionError | ConnectTimeoutError):
            return True
        stack.extend([getattr(current, "reason", None), current.__cause__, current.__context__])
        stack.extend(a for a in getattr(current, "args", ()) if isinstance(a, BaseException))
    return False
