"""DHIS2 gateway API routes (also under /api/<version>/). Order matters: fixed words before {uid}."""

from django.urls.resolvers import RegexPattern

from gateways import api, api_routes
from gateways.providers import type_for_route
from smsportal.dhis2 import api_path

ROUTE = r"(?P<route>[a-z][a-z0-9_]*)"


class TypedRoute(RegexPattern):
    """/api/gateways/<route>: matches only a route a registered adapter declares; any other word
    falls through to the {uid} routes below."""

    def match(self, path):
        found = super().match(path)
        return found if found and type_for_route(found[2]["route"]) else None


urlpatterns = [
    api_path(r"gateways/?", api.GatewayListApi.as_view(), name="dhis2-gateways"),
    api_path(r"gateways/routes/?", api_routes.GatewayRouteListApi.as_view(), name="gateway-routes"),
    api_path(
        r"gateways/routes/(?P<route_id>[^/]+)/?", api_routes.GatewayRouteDetailApi.as_view(), name="gateway-route"
    ),
    api_path(r"gateways/default/?", api.GatewayDefaultApi.as_view(), name="dhis2-gateway-default"),
    api_path(
        r"gateways/default/(?P<uid>[^/]+)/?", api.GatewaySetDefaultApi.as_view(), name="dhis2-gateway-set-default"
    ),
    api_path(
        rf"gateways/{ROUTE}/?", api.GatewayTypedListApi.as_view(), name="dhis2-gateways-typed", pattern=TypedRoute
    ),
    api_path(
        rf"gateways/{ROUTE}/(?P<uid>[^/]+)/?",
        api.GatewayTypedUpdateApi.as_view(),
        name="dhis2-gateway-typed",
        pattern=TypedRoute,
    ),
    api_path(r"gateways/(?P<uid>[^/]+)/?", api.GatewayDetailApi.as_view(), name="dhis2-gateway"),
]
