"""Prefix routing: which gateway sends to a destination, and which one takes over from it.

An organization's routes (GatewayRoute) map destination prefixes to gateways; the longest prefix
that matches the E.164 number wins, and the `*` route is its default gateway
(gateways/selectors.py, `gateway_for_send`). The routes are read on every send, so a process keeps
them for SMSPORTAL_LOCAL_CACHE_SECONDS (smsportal/localcache.py; saving a route or gateway clears it).
"""

from dataclasses import dataclass

from gateways.models import Gateway, GatewayRoute
from gateways.routing import gateway_is_down, gateway_usable_fallback
from smsportal.localcache import LocalCache

_routes = LocalCache("gateway-routes")


@dataclass(frozen=True)
class Route:
    prefix: str
    gateway: Gateway
    fallback: Gateway | None


def routes_for(organization_id) -> tuple[Route, ...]:
    """The organization's routes to active gateways, longest prefix first (cached; read-only)."""
    if organization_id is None:
        return ()
    return _routes.get_or_load(organization_id, lambda: _routes_load(organization_id))


def _routes_load(organization_id) -> tuple[Route, ...]:
    rows = (
        GatewayRoute.objects.filter(organization_id=organization_id, gateway__is_active=True)
        .select_related("gateway", "fallback")
        .prefetch_related("gateway__inbound_numbers", "fallback__inbound_numbers")
    )
    routes = [Route(r.prefix, r.gateway, r.fallback if r.fallback_id else None) for r in rows]
    return tuple(sorted(routes, key=lambda r: len(r.prefix), reverse=True))


def route_match(routes: tuple[Route, ...], number: str) -> Route | None:
    for route in routes:  # longest first
        if number.startswith(route.prefix):
            return route
    return None


def route_gateway(route: Route) -> Gateway:
    """The gateway a route sends with now: its own, or while that is marked down, a usable fallback."""
    if not gateway_is_down(route.gateway):
        return route.gateway
    return usable(route.fallback, route.gateway) or gateway_usable_fallback(route.gateway) or route.gateway


def usable(candidate: Gateway | None, primary: Gateway) -> Gateway | None:
    if candidate is None or not candidate.is_active or candidate.pk == primary.pk or gateway_is_down(candidate):
        return None
    return candidate


def fallback_for(gateway: Gateway, *, organization_id, recipient: str) -> Gateway | None:
    """Who takes over `gateway`'s message to `recipient`: the fallback of the route that chose it,
    else the gateway's own fallback (None when neither is usable)."""
    route = route_match(routes_for(organization_id), recipient)
    if route is not None and route.gateway.pk == gateway.pk:
        fallback = usable(route.fallback, gateway)
        if fallback is not None:
            return fallback
    return gateway_usable_fallback(gateway)
