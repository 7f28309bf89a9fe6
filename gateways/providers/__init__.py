"""The provider registry: every adapter module in this package, found by listing it.

A provider is one module here whose `ProviderAdapter` subclass declares everything the rest of
`gateways/` derives from it: `type` and `label` (the model's choices, the admin's type list),
`routes` and `aliases` (the DHIS2 typed routes and accepted type names), `config_spec` (fields,
secrets, help text, form layout, cross-field rules), `signed_webhooks` (webhook URLs carry no
token) and `own_numbers()`. Nothing else names a provider (docs/architecture.md, "Adding a
provider").
"""

import importlib
import pkgutil

from gateways.providers.base import ProviderAdapter

# Helper modules of the package: no adapter in them.
HELPERS = frozenset({"base", "httpbase", "settings", "sns_notifications", "webhooks"})

ADAPTERS: dict[str, type[ProviderAdapter]] = {}


def register(adapter: type[ProviderAdapter]) -> type[ProviderAdapter]:
    """Add an adapter class (the package's modules are registered at import; tests add throwaway ones)."""
    taken = {name: a.type for a in ADAPTERS.values() if a.type != adapter.type for name in a.names()}
    clash = sorted(set(adapter.names()) & set(taken))
    if clash:
        raise ValueError(f"{adapter.__name__}: type or route {clash} already belongs to {taken[clash[0]]!r}")
    ADAPTERS[adapter.type] = adapter
    return adapter


def unregister(type_: str) -> None:
    ADAPTERS.pop(type_, None)


def _discover() -> None:
    for module in pkgutil.iter_modules(__path__):
        if module.name in HELPERS:
            continue
        loaded = importlib.import_module(f"{__name__}.{module.name}")
        for value in vars(loaded).values():
            if (
                isinstance(value, type)
                and issubclass(value, ProviderAdapter)
                and value.__module__ == loaded.__name__
                and "type" in vars(value)
            ):
                register(value)


def type_choices() -> list[tuple[str, str]]:
    """(type, label) of every registered provider: Gateway.type's choices, the admin's list."""
    return [(a.type, a.label) for a in ADAPTERS.values()]


def adapter_class(type_: str) -> type[ProviderAdapter] | None:
    return ADAPTERS.get(type_)


def type_for_name(name: str) -> str | None:
    """The gateway type a DHIS2 type name or typed route names (its type, a route or an alias)."""
    for adapter in ADAPTERS.values():
        if name in adapter.names():
            return adapter.type
    return None


def type_for_route(route: str) -> str | None:
    """The gateway type behind a DHIS2 typed route (/api/gateways/<route>)."""
    for adapter in ADAPTERS.values():
        if route in adapter.route_names():
            return adapter.type
    return None


def typed_routes() -> list[str]:
    return sorted(route for adapter in ADAPTERS.values() for route in adapter.route_names())


def get_adapter(gateway) -> ProviderAdapter:
    return ADAPTERS[gateway.type](gateway)


_discover()
