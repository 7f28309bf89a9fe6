"""Prefix routes: create, update, delete, validated in one place for the API and the admin.

A route's gateway and fallback must be this organization's (or a global gateway); another
organization's gateway is refused naming the field, exactly as an unknown one (no existence leak).
"""

import re
import uuid

from django.db import IntegrityError, transaction

from gateways.config import ConfigError
from gateways.models import Gateway, GatewayRoute
from smsportal.localcache import local_caches_clear

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


def route_gateway_check(value, *, organization, field: str, required: bool = True) -> Gateway | None:
    """The gateway a uid names, if this organization may route to it; else ConfigError naming `field`."""
    if value in (None, ""):
        if required:
            raise ConfigError(f"{field} is required: the uid of one of the organization's gateways", field=field)
        return None
    try:
        pk = uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        pk = None
    found = Gateway.objects.filter(pk=pk).first() if pk else None
    if found is None or found.organization_id not in (organization.pk, None):
        raise ConfigError(f"{field} must be the uid of one of the organization's gateways", field=field)
    return found


def route_clean(route: GatewayRoute) -> None:
    """The rules every saved route obeys (the admin's model validation runs them too)."""
    route.prefix = route_prefix_check(route.prefix)
    for name in ("gateway", "fallback"):
        gateway = getattr(route, name, None) if getattr(route, f"{name}_id") else None
        if gateway is not None and gateway.organization_id not in (route.organization_id, None):
            raise ConfigError(f"{name} must be one of the organization's gateways", field=name)
    if route.fallback_id and route.fallback_id == route.gateway_id:
        raise ConfigError("fallback must be another gateway than the route's", field="fallback")


def route_save(*, organization, data: dict, route: GatewayRoute | None = None) -> GatewayRoute:
    """Create (route None) or update a route from API data {prefix, gateway, fallback}."""
    route = route or GatewayRoute(organization=organization)
    if "prefix" in data or route.pk is None:
        route.prefix = route_prefix_check(data.get("prefix"))
    if "gateway" in data or route.pk is None:
        route.gateway = route_gateway_check(data.get("gateway"), organization=organization, field="gateway")
    if "fallback" in data:
        route.fallback = route_gateway_check(
            data.get("fallback"), organization=organization, field="fallback", required=False
        )
    route_clean(route)
    try:
        with transaction.atomic():
            route.save()
    except IntegrityError:
        raise ConfigError(f"the organization already has a route for {route.prefix}", field="prefix")
    local_caches_clear()
    return route


def route_delete(*, route: GatewayRoute) -> None:
    route.delete()
    local_caches_clear()


def route_representation(route: GatewayRoute) -> dict:
    return {
        "id": route.pk,
        "prefix": route.prefix,
        "gateway": str(route.gateway_id),
        "fallback": str(route.fallback_id) if route.fallback_id else None,
        "default": False,
    }


def default_route_representation(gateway: Gateway | None) -> dict:
    """The `*` route: the organization's default gateway (read-only here)."""
    return {
        "id": None,
        "prefix": DEFAULT_ROUTE,
        "gateway": str(gateway.pk) if gateway else None,
        "fallback": str(gateway.fallback_id) if gateway and gateway.fallback_id else None,
        "default": True,
    }
