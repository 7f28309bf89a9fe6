"""DHIS2 gateway API routes (also under /api/<version>/). Order matters: fixed words before {uid}."""

from gateways import api, api_routes
from smsportal.dhis2 import api_path

TYPES = r"(?P<route>clickatell|bulksms|generichttp|http|twilio|sns|simulator|chtgateway)"

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
    api_path(rf"gateways/{TYPES}/?", api.GatewayTypedListApi.as_view(), name="dhis2-gateways-typed"),
    api_path(rf"gateways/{TYPES}/(?P<uid>[^/]+)/?", api.GatewayTypedUpdateApi.as_view(), name="dhis2-gateway-typed"),
    api_path(r"gateways/(?P<uid>[^/]+)/?", api.GatewayDetailApi.as_view(), name="dhis2-gateway"),
]
