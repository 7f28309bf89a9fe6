"""Prefix routes: create, update, delete, validated in one place for the API and the admin.

A route's gateway and fallback must be this organization's (or a global gateway); another
organization's gateway is refused naming the field, exactly as an unknown one (no existence leak).
"""

import uuid

from django.db import IntegrityError, transaction

from gateways.exceptions import ConfigError
from gateways.models import Gateway, GatewayRoute
from gateways.route_rules import DEFAULT_ROUTE, route_clean, route_prefix_check
from smsportal.localcache import local_caches_clear


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
