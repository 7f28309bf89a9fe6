"""The base of every adapter that speaks HTTP: one pooled, address-checked client, timeouts, error mapping.

Error classes decide what the pipeline does next (gateways/exceptions.py):
- the request provably never reached the provider (connect refused/timed out, DNS), 429, 5xx
  → GatewayTemporaryError (retry with backoff, then the fallback gateway);
- any other 4xx or a redirect → GatewayRejectedError (failed, with the provider's reason);
- a read timeout or a connection dropped after the request was written → GatewayAmbiguousError
  (the provider may have the message: never resent blindly).
"""

import base64
import json as _json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar
from urllib.parse import urlencode

import requests
import urllib3
from django.conf import settings
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    LocationValueError,
    NameResolutionError,
    NewConnectionError,
    ProxySchemeUnknown,
    ReadTimeoutError,
    SSLError,
)

from gateways.exceptions import GatewayAmbiguousError, GatewayRejectedError, GatewayTemporaryError
from gateways.providers.base import OutboundSms, ProviderAdapter, SendResult
from gateways.urlsafety import SAFE_POOL_CLASSES, SafeHTTPAdapter, UnsafeUrlError, url_check
from smsportal.redact import redact, strings_in
from smsportal.retry import retry_after_seconds

logger = logging.getLogger(__name__)

# DHIS2 GatewayResponse names for provider HTTP statuses (DHIS2's SMS Web API; docs/api.md).
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


_per_process_lock = threading.Lock()
_per_process: dict[str, tuple[int, Any]] = {}


def per_process(name: str, factory: Callable[[], Any]) -> Any:
    """One `factory()` result per process under `name`, made on first use: a forked worker must
    not share its parent's sockets or threads, and building one per call or batch costs more than
    the work it serves."""
    pid = os.getpid()
    found = _per_process.get(name)
    if found is None or found[0] != pid:
        with _per_process_lock:
            found = _per_process.get(name)
            if found is None or found[0] != pid:
                found = _per_process[name] = (pid, factory())
    return found[1]


def _new_session() -> requests.Session:
    session = requests.Session()
    # Proxies from the environment would make the address check meaningless.
    session.trust_env = False
    adapter = SafeHTTPAdapter(pool_connections=32, pool_maxsize=64, max_retries=0)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = USER_AGENT
    return session


def http_session() -> requests.Session:
    """One pooled session per process (connections are reused across tasks and gateways)."""
    return per_process("requests-session", _new_session)


def _new_pool() -> urllib3.PoolManager:
    pool = urllib3.PoolManager(num_pools=32, maxsize=64, block=False, headers={"User-Agent": USER_AGENT})
    pool.pool_classes_by_scheme = SAFE_POOL_CLASSES
    return pool


def http_pool() -> urllib3.PoolManager:
    """The send path's connection pool: urllib3 directly, per process, address-checked on connect.

    requests (used for the rest) costs ~1.2 ms of CPU per call against ~0.6 ms for urllib3, which
    halves one-per-request throughput (docs/performance.md).
    """
    return per_process("urllib3-pool", _new_pool)


class HttpResponse:
    """The little of requests.Response the adapters use."""

    def __init__(self, response: urllib3.BaseHTTPResponse):
        self.status_code = response.status
        self.headers = response.headers
        self.content = response.data or b""

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return _json.loads(self.content)


def _executor() -> ThreadPoolExecutor:
    """One thread pool per process for one-per-request providers (threads are not started per batch)."""
    return per_process("send-threads", lambda: ThreadPoolExecutor(max_workers=32, thread_name_prefix="sms-send"))


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

    def request(self, method: str, url: str, *, ok: Callable[[HttpResponse], bool] | None = None, **kwargs):
        """Send one request and map failures to the gateway error classes.

        Returns the response when it is a 2xx (or `ok(response)` says so); raises otherwise.
        """
        try:
            url_check(url, resolve=False)
        except UnsafeUrlError as exc:
            raise GatewayRejectedError(f"gateway URL refused: {exc}", result_code="FAILED")
        try:
            response = self._send(method, url, **kwargs)
        except UnsafeUrlError as exc:
            raise GatewayRejectedError(f"gateway URL refused: {exc}", result_code="FAILED")
        except (NewConnectionError, NameResolutionError, ConnectTimeoutError):
            # Nothing was written: provably not accepted.
            raise GatewayTemporaryError("provider unreachable (connection failed)", result_code="RESULT_CODE_504")
        except ReadTimeoutError:
            raise GatewayAmbiguousError("provider read timeout: the request may have been accepted")
        except (LocationValueError, ProxySchemeUnknown) as exc:
            raise GatewayRejectedError(f"gateway URL refused: {type(exc).__name__}")
        except SSLError:
            raise GatewayRejectedError("TLS error talking to the provider (certificate or protocol)")
        except (HTTPError, OSError) as exc:
            raise GatewayAmbiguousError(f"connection lost after the request was sent ({type(exc).__name__})")
        if ok is not None and ok(response):
            return response
        status = response.status_code
        if 200 <= status < 300 and ok is None:
            return response
        # Providers may echo the request in their error: never keep what we sent or our secrets.
        detail = redact(self.error_detail(response), values=strings_in(kwargs, self.gateway.secrets))
        if status == 429:
            raise GatewayTemporaryError(
                f"provider rate limit (HTTP 429){detail}",
                result_code="RESULT_CODE_429",
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if status >= 500:
            raise GatewayTemporaryError(
                f"provider error HTTP {status}{detail}",
                result_code=result_code_for_status(status),
                retry_after=retry_after_seconds(response.headers.get("Retry-After")),
            )
        if 300 <= status < 400:
            raise GatewayRejectedError(f"provider redirected (HTTP {status}); redirects are not followed")
        raise GatewayRejectedError(
            f"provider refused HTTP {status}{detail}", result_code=result_code_for_status(status)
        )

    def _send(self, method, url, *, params=None, json=None, data=None, auth=None, headers=None) -> HttpResponse:
        """One request on the shared pool: no retries, no redirects, connect/read timeouts."""
        headers = dict(headers or {})
        body = None
        if params:
            url = f"{url}{'&' if '?' in url else '?'}{urlencode(params)}"
        if json is not None:
            body = _json.dumps(json).encode()
            headers.setdefault("Content-Type", "application/json")
        elif isinstance(data, dict):
            body = urlencode(data).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif data is not None:
            body = data.encode() if isinstance(data, str) else data
        if auth is not None:
            token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        connect, read = self.timeout
        response = http_pool().request(
            method,
            url,
            body=body,
            headers=headers,
            timeout=urllib3.Timeout(connect=connect, read=read),
            retries=False,
            redirect=False,
        )
        return HttpResponse(response)

    def error_detail(self, response: HttpResponse) -> str:
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
