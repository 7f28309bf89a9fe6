"""The private-address rule for URLs we call (plugin webhooks, generic gateways): SSRF guard.

A URL must be https (http only where private URLs are allowed, i.e. development and tests), carry
no credentials, and every address its host resolves to must be public. SMSPORTAL_ALLOW_PRIVATE_URLS
lifts the address rule for local setups. Checked when a URL is saved and again before each call.
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings


class UnsafeUrl(ValueError):
    pass


def _address_allowed(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_link_local)


def url_check(url: str, *, resolve: bool = True, allow_private: bool | None = None) -> str:
    """Return the URL when it may be called, else raise UnsafeUrl naming the problem."""
    allow_private = settings.SMSPORTAL_ALLOW_PRIVATE_URLS if allow_private is None else allow_private
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"not a valid URL ({exc})")
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UnsafeUrl("must be an https:// URL")
    if parts.scheme == "http" and not allow_private:
        raise UnsafeUrl("must be an https:// URL")
    if parts.username or parts.password:
        raise UnsafeUrl("must not contain credentials")
    if allow_private or not resolve:
        return url
    try:
        infos = socket.getaddrinfo(parts.hostname, port or 443, proto=socket.IPPROTO_TCP)
    except OSError:
        raise UnsafeUrl("host does not resolve")
    for info in infos:
        if not _address_allowed(info[4][0]):
            raise UnsafeUrl("resolves to a private, loopback or reserved address")
    return url
