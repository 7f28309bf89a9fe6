"""Outbound URL safety: gateway URLs must not reach private, loopback or link-local addresses.

A gateway's URL is admin-supplied, so it is an SSRF vector (docs/security.md). Three checks:
- when a URL is saved, every address its host resolves to must be public (`url_check`);
- at connect time the host is resolved once, every address checked, and the connection made to
  the checked address (pinned), so a DNS answer that changes after the check (rebinding) cannot
  redirect it; a refused address is refused *before* any connection is tried, so the error
  cannot tell an open port from a closed or filtered one;
- the connected peer is checked again.
IPv6 forms that embed an IPv4 address (IPv4-mapped and -compatible, 6to4, NAT64) are judged by
that address; Teredo is refused. AWS endpoints: only *.amazonaws.com (`aws_endpoint_check`).
`SMSPORTAL_ALLOW_PRIVATE_URLS` turns the address checks off, for development and tests only.
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


REFUSED_MESSAGE = "resolves to a private, loopback or link-local address"
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_TEREDO = ipaddress.ip_network("2001::/32")
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, when it is one of the encodings that reach it."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if any(ip in network for network in _NAT64) or ip in _IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        if ip in _TEREDO:
            return False  # a tunnel to an address we cannot judge from here
        ip = _embedded_ipv4(ip) or ip
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
    if private_urls_allowed():
        return
    try:
        literal = ipaddress.ip_address(parts.hostname)
    except ValueError:
        literal = None
    if literal is not None and not address_is_public(str(literal)):
        raise UnsafeUrlError(f"host {parts.hostname!r} {REFUSED_MESSAGE}")
    if not resolve:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    except OSError:
        raise UnsafeUrlError(f"host {parts.hostname!r} does not resolve")
    for info in infos:
        if not address_is_public(info[4][0]):
            raise UnsafeUrlError(f"host {parts.hostname!r} {REFUSED_MESSAGE}")


AWS_HOST_SUFFIXES = (".amazonaws.com", ".amazonaws.com.cn", ".api.aws")


def aws_endpoint_check(url: str) -> None:
    """An AWS `endpointUrl`: boto3 resolves and connects by itself (no pinning), so outside
    development only AWS's own https endpoints are allowed; in development any URL (moto, stand-ins)."""
    url_check(url, resolve=False)
    if private_urls_allowed():
        return
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".").lower()
    if parts.scheme != "https" or not host.endswith(AWS_HOST_SUFFIXES):
        raise UnsafeUrlError("must be an https:// AWS endpoint (*.amazonaws.com)")
    url_check(url)


def pinned_address(host: str, port: int) -> str:
    """Resolve `host` once; every address must be public; the first is the one to connect to."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        raise UnsafeUrlError(f"host {host!r} does not resolve")
    addresses = [info[4][0] for info in infos]
    if not addresses or not all(address_is_public(a) for a in addresses):
        raise UnsafeUrlError(f"gateway URL {REFUSED_MESSAGE}")
    return addresses[0]


def _peer_check(sock) -> None:
    if private_urls_allowed():
        return
    try:
        peer = sock.getpeername()[0]
    except OSError:
        return
    if not address_is_public(peer):
        sock.close()
        raise UnsafeUrlError(f"gateway URL {REFUSED_MESSAGE}")


class _PinnedConnectionMixin:
    """Check the resolved address before connecting, connect to that very address (TLS still
    verifies the host name: urllib3 uses `host` for SNI and the certificate, `_dns_host` to connect)."""

    def _new_conn(self):
        if private_urls_allowed():
            return super()._new_conn()
        original = self._dns_host
        self._dns_host = pinned_address(original, self.port)
        try:
            sock = super()._new_conn()
        finally:
            self._dns_host = original
        _peer_check(sock)
        return sock


class _SafeHTTPConnection(_PinnedConnectionMixin, HTTPConnection):
    pass


class _SafeHTTPSConnection(_PinnedConnectionMixin, HTTPSConnection):
    pass


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
