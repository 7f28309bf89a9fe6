"""The rules every prefix route obeys, with no database access: the model's validation (the admin)
and gateways/route_services.py (the API) both run them, so neither imports the other."""

import re

from gateways.exceptions import ConfigError

PREFIX = re.compile(r"^\+[1-9]\d{0,14}$")
DEFAULT_ROUTE = "*"


def route_prefix_check(value) -> str:
    prefix = str(value or "").strip().replace(" ", "") if isinstance(value, str | int) else ""
    if prefix == DEFAULT_ROUTE:
        raise ConfigError(
            "the * route is the organization's default gateway: set it with PUT /api/gateways/default/{uid}",
            field="prefix",
        )
    if not PREFIX.match(prefix):
        raise ConfigError(
            "prefix must be + and 1 to 15 digits (a country or operator prefix, e.g. +254)", field="prefix"
        )
    return prefix


def route_clean(route) -> None:
    """The rules every saved route obeys (the admin's model validation runs them too)."""
    route.prefix = route_prefix_check(route.prefix)
    for name in ("gateway", "fallback"):
        gateway = getattr(route, name, None) if getattr(route, f"{name}_id") else None
        if gateway is not None and gateway.organization_id not in (route.organization_id, None):
            raise ConfigError(f"{name} must be one of the organization's gateways", field=name)
    if route.fallback_id and route.fallback_id == route.gateway_id:
        raise ConfigError("fallback must be another gateway than the route's", field="fallback")
