"""Outbound URL safety: gateway URLs must not reach private, loopback or link-local addresses.

A gateway's URL is admin-supplied, so it is an SSRF vector (docs/gateways.md). Two checks:
- when a URL is saved, every address its host resolves to must be public (`url_check`);
- at send time the *connected* peer address is checked (`SafeHTTPAdapter`), so a DNS answer
  that changes after saving (rebinding) is refused too.
`SMSPORTAL_ALLOW_PRIVATE_URLS` turns both off, for development and tests only.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class UnsafeUrlError(Exception):
    """The URL is malformed or reaches an address gateways may not call."""


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip in ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT
    )


def private_urls_allowed() -> bool:
    return bool(getattr(settings, "SMSPORTAL_ALLOW_PRIVATE_URLS", False))


def url_check(url: str, *, resolve: bool = True) -> None:
    """Raise UnsafeUrlError unless `url` is an absolute http(s) URL to a public host."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrlError(f"malformed URL: {exc}")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UnsafeUrlError("must be an absolute http:// or https:// URL")
    if parts.username or parts.password:
        raise UnsafeUrlError("credentials in the URL are not allowed; use the gateway's username/password")
    if private_urls_allowed() or not resolve:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    except OSError:
        raise UnsafeUrlError(f"host {parts.hostname!r} does not resolve")
    for info in infos:
        if not address_is_public(info[4][0]):
            raise UnsafeUrlError(f"host {parts.hostname!r} resolves to a private, loopback or link-local address")


def _peer_check(sock) -> None:
    if private_urls_allowed():
        return
    try:
        peer = sock.getpeername()[0]
    except OSError:
        return
    if not address_is_public(peer):
        sock.close()
        raise UnsafeUrlError("gateway URL resolves to a private, loopback or link-local address")


class _SafeHTTPConnection(HTTPConnection):
    def _new_conn(self):
        sock = super()._new_conn()
        _peer_check(sock)
        return sock


class _SafeHTTPSConnection(HTTPSConnection):
    def _new_conn(self):
        sock = super()._new_conn()
        _peer_check(sock)
        return sock


class _SafeHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _SafeHTTPConnection


class _SafeHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _SafeHTTPSConnection


SAFE_POOL_CLASSES = {"http": _SafeHTTPConnectionPool, "https": _SafeHTTPSConnectionPool}


class SafeHTTPAdapter(HTTPAdapter):
    """A requests transport adapter that checks the address it actually connected to."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = SAFE_POOL_CLASSES
