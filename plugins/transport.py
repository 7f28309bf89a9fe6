"""The HTTP side of a webhook plugin call: the signed request of one attempt and its POST.

Sending touches no database, so calls of one chunk run in threads (plugins/runner.py). Requests
go through the gateways' per-process urllib3 pool, which checks the address actually connected
to; with HTTP(S)_PROXY set they go through requests instead.
"""

import base64
import hashlib
import hmac
import json
import time
from urllib.request import getproxies

import requests
import urllib3
from django.conf import settings
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from gateways.providers.httpbase import http_pool
from gateways.urlsafety import SafeHTTPAdapter, UnsafeUrlError
from plugins.models import PluginInvocation, PluginRegistration
from plugins.signing import plugin_token
from plugins.validation import plugin_url_check
from smsportal.retry import retry_after_seconds
from smsportal.tracing import new_trace_id, traceparent

MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "smsportal-plugins/1.0"

_session: requests.Session | None = None


_proxy_settings: dict[str, str] | None = None


def _proxies() -> dict[str, str]:
    """HTTP(S)_PROXY, read once per process (an environment lookup per call was a large share of
    a call's CPU). NO_PROXY is not read."""
    global _proxy_settings
    if _proxy_settings is None:
        _proxy_settings = {k: v for k, v in getproxies().items() if k in ("http", "https")}
    return _proxy_settings


def _http() -> requests.Session:
    """The session for calls through a proxy."""
    global _session
    if _session is None:
        _session = requests.Session()
        _session.headers["User-Agent"] = USER_AGENT
        _session.trust_env = False
        _session.proxies.update(_proxies())
        # Checks the address actually connected to (DNS rebinding after the URL was checked).
        _session.mount("http://", SafeHTTPAdapter())
        _session.mount("https://", SafeHTTPAdapter())
    return _session


def request_build(invocation: PluginInvocation, registration: PluginRegistration) -> tuple[bytes, dict]:
    """The exact body and headers of one attempt: the stored payload + a fresh JWT, Standard Webhooks headers
    (docs/plugins.md, "The call")."""
    webhook_id = invocation.idempotency_key
    token = plugin_token(
        registration=registration,
        organization_id=invocation.organization_id,
        payload_without_jwt=invocation.payload,
        jti=f"{webhook_id}.{invocation.attempts}",
    )
    body = json.dumps({**invocation.payload, "jwt": token}, ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    trace = invocation.payload.get("metadata", {}).get("traceId") or traceparent(new_trace_id(), invocation.id.hex[:16])
    headers = {
        "Content-Type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "Idempotency-Key": webhook_id,
        "traceparent": trace,
    }
    if registration.webhook_secret:
        key = base64.b64decode(registration.webhook_secret.removeprefix("whsec_"))
        signed = f"{webhook_id}.{timestamp}.".encode() + body
        headers["webhook-signature"] = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return body, headers


def request_prepare(invocation: PluginInvocation, registration: PluginRegistration):
    """The request of one attempt (reads the signing key: DB), or the refusal; sent by `request_send`."""
    try:
        plugin_url_check(registration.url)
    except UnsafeUrlError as exc:
        return (False, None, f"url refused: {exc}", None)
    return request_build(invocation, registration)


def request_send(registration: PluginRegistration, prepared):
    """POST a prepared request; touches no database, so it may run in a thread."""
    if len(prepared) == 4:
        return prepared  # refused before sending
    body, headers = prepared
    timeout = float(registration.timeout_seconds or settings.SMSPORTAL_HTTP_TIMEOUT)
    if _proxies():
        return _http_send_proxied(registration, body, headers, timeout)

    def post():
        # urllib3 directly (the pool of gateways.providers.httpbase: per process, kept-alive
        # connections, the connected address checked): requests cost twice the CPU per call.
        return http_pool().urlopen(
            "POST",
            registration.url,
            body=body,
            headers={"User-Agent": USER_AGENT, **headers},
            timeout=urllib3.Timeout(connect=min(5.0, timeout), read=timeout),
            retries=False,
            redirect=False,  # a redirect is a failure (Standard Webhooks; SSRF)
            preload_content=False,
        )

    try:
        try:
            response = post()
        except ProtocolError:
            # A kept-alive connection the plugin closed meanwhile: once more on a new one (the
            # same webhook-id, so a plugin that did get the first copy dedupes it).
            response = post()
    except (NewConnectionError, NameResolutionError, ProtocolError):  # before: a subclass of ConnectTimeoutError
        return False, None, "connection failed", None
    except (ConnectTimeoutError, ReadTimeoutError):
        return False, None, "timed out", None
    except (HTTPError, OSError, UnsafeUrlError) as exc:
        return False, None, f"request failed ({type(exc).__name__})", None
    try:
        # Untrusted answer: read at most 64 KiB and keep none of it.
        response.read(MAX_RESPONSE_BYTES, decode_content=False)
    except Exception:  # noqa: BLE001,S110 — the status code is the outcome
        pass
    finally:
        if response.length_remaining:
            response.close()  # an unread rest: the connection is not reused
        response.release_conn()
    return _http_outcome(response.status, response.headers.get("Retry-After"))


def _http_outcome(status: int, retry_after_header: str | None):
    if 200 <= status < 300:
        return True, status, "", None
    retry_after = (
        retry_after_seconds(retry_after_header, cap=settings.SMSPORTAL_PLUGIN_RETRY_MAX_SECONDS)
        if status in (429, 503)
        else None
    )
    return False, status, f"HTTP {status}", retry_after


def _http_send_proxied(registration: PluginRegistration, body: bytes, headers: dict, timeout: float):
    """The same call through the configured HTTP(S)_PROXY (requests' proxy support)."""
    try:
        response = _http().post(
            registration.url,
            data=body,
            headers=headers,
            timeout=(min(5.0, timeout), timeout),
            allow_redirects=False,  # a redirect is a failure (Standard Webhooks; SSRF)
            stream=True,
        )
    except requests.Timeout:
        return False, None, "timed out", None
    except requests.ConnectionError:
        return False, None, "connection failed", None
    except (requests.RequestException, UnsafeUrlError) as exc:
        return False, None, f"request failed ({type(exc).__name__})", None
    try:
        response.raw.read(MAX_RESPONSE_BYTES, decode_content=False)
    except Exception:  # noqa: BLE001,S110 — the status code is the outcome
        pass
    finally:
        response.close()
    return _http_outcome(response.status_code, response.headers.get("Retry-After"))
