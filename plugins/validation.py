"""Registration rules: what a webhook URL and a built-in handler must be, shared by the model, the
API and the call itself (a URL is checked again, with DNS, before every call)."""

import importlib
import ipaddress
from urllib.parse import urlsplit

from django.conf import settings

from gateways.urlsafety import UnsafeUrlError, address_is_public, url_check
from plugins.choices import ENTITY_TYPES, PluginAction

# Built-in plugins live in the project's own apps; a handler path outside them is refused, so the
# API cannot be used to import arbitrary modules.
HANDLER_PACKAGES = ("plugins.", "adherence.", "portal.", "messaging.", "entities.")


def registration_validate(*, url: str, handler: str, entity_types, actions) -> None:
    """Raise ValueError("<field>: <problem>") for an invalid registration."""
    if bool(url) == bool(handler):
        raise ValueError("url: give exactly one of url (a webhook) or handler (a built-in plugin)")
    if url:
        try:
            plugin_url_check(url, resolve=False)
        except UnsafeUrlError as exc:
            raise ValueError(f"url: {exc}")
    if handler:
        try:
            handler_resolve(handler)
        except ValueError as exc:
            raise ValueError(f"handler: {exc}")
    if not isinstance(entity_types, list) or not entity_types:
        raise ValueError(f"entityTypes: a non-empty list of {', '.join(ENTITY_TYPES)}")
    bad = [t for t in entity_types if t not in ENTITY_TYPES]
    if bad:
        raise ValueError(f"entityTypes: unknown entity type {bad[0]!r}; one of {', '.join(ENTITY_TYPES)}")
    if not isinstance(actions, list) or not actions:
        raise ValueError(f"actions: a non-empty list of {', '.join(PluginAction.values)}")
    bad = [a for a in actions if a not in PluginAction.values]
    if bad:
        raise ValueError(f"actions: unknown action {bad[0]!r}; one of {', '.join(PluginAction.values)}")


def plugin_url_check(url: str, *, resolve: bool = True) -> None:
    """The gateways' private-address rule, plus https (plain http only where private URLs are allowed).

    Saving checks the URL without DNS (a literal private address or `localhost` is refused); each
    call resolves the host and the transport checks the address it actually connected to.
    """
    url_check(url, resolve=resolve)
    if settings.SMSPORTAL_ALLOW_PRIVATE_URLS:
        return
    if not url.lower().startswith("https://"):
        raise UnsafeUrlError("must be an https:// URL")
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        raise UnsafeUrlError("must not point at a private, loopback or link-local address")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return
    if not address_is_public(str(literal)):
        raise UnsafeUrlError("must not point at a private, loopback or link-local address")


def handler_resolve(path: str):
    """The built-in plugin callable at a dotted path; it must be marked with @builtin_plugin."""
    module_name, _, attr = path.rpartition(".")
    if not module_name or not path.startswith(HANDLER_PACKAGES):
        raise ValueError(f"a dotted path inside {', '.join(p.rstrip('.') for p in HANDLER_PACKAGES)}")
    try:
        func = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError):
        raise ValueError(f"{path!r} cannot be imported")
    if not getattr(func, "smsportal_plugin", False):
        raise ValueError(f"{path!r} is not a built-in plugin (decorate it with plugins.builtin.builtin_plugin)")
    return func
