"""`/api/gateways/routes`: an organization's prefix routes (longest prefix wins; `*` = the default gateway).

Thin: scope to the caller's organization (another organization's route is a 404), call
gateways/route_services.py, answer with DHIS2's WebMessage envelope like the rest of /api/gateways.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from entities.selectors import organization_for_user, scope_to_user
from gateways.config import ConfigError
from gateways.models import GatewayRoute
from gateways.route_services import (
    default_route_representation,
    route_delete,
    route_representation,
    route_save,
)
from gateways.selectors import gateway_default_for
from smsportal import dhis2

TAGS = ["Gateway routes"]
ROUTE = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="A route: id, prefix (+ and digits, or `*` for the default gateway), gateway (uid), "
    "fallback (uid or null), default (true only for `*`).",
)
WEB_MESSAGE = OpenApiResponse(
    OpenApiTypes.OBJECT, description="DHIS2 WebMessage envelope; `response.field` names the bad field"
)
BODY = OpenApiExample("route", value={"prefix": "+254", "gateway": "<gateway uid>", "fallback": "<gateway uid>"})


def _routes(request):
    return scope_to_user(GatewayRoute.objects.all(), request.user)


def _organization(request):
    organization = organization_for_user(request.user)
    if organization is None:
        return None, dhis2.web_message(
            "routes belong to an organization: use an organization's API key", http_status=403
        )
    return organization, None


def _save(request, route=None):
    if route is not None:
        organization = route.organization  # a superuser may edit any organization's route
    else:
        organization, refused = _organization(request)
        if refused is not None:
            return refused
    if not isinstance(request.data, dict):
        return dhis2.bad_request("the body must be a JSON object", field="body")
    try:
        route = route_save(organization=organization, data=request.data, route=route)
    except ConfigError as exc:
        return dhis2.bad_request(str(exc), field=exc.field)
    return dhis2.web_message("Route saved", response=route_representation(route))


class GatewayRouteListApi(APIView):
    @extend_schema(
        operation_id="gateway_routes_list",
        tags=TAGS,
        description="The organization's routes, longest prefix first, then the `*` route (its default gateway, "
        "changed with PUT /api/gateways/default/{uid}).",
        responses={200: OpenApiResponse(OpenApiTypes.OBJECT, description='{"routes": [route, ...]}')},
    )
    def get(self, request):
        routes = sorted(_routes(request), key=lambda r: (-len(r.prefix), r.prefix))
        shown = [route_representation(r) for r in routes]
        shown.append(
            default_route_representation(gateway_default_for(organization=organization_for_user(request.user)))
        )
        return Response({"routes": shown})

    @extend_schema(
        operation_id="gateway_routes_create",
        tags=TAGS,
        request=OpenApiTypes.OBJECT,
        examples=[BODY],
        responses={200: WEB_MESSAGE, 400: WEB_MESSAGE, 403: WEB_MESSAGE},
    )
    def post(self, request):
        return _save(request)


class GatewayRouteDetailApi(APIView):
    def _get(self, request, route_id):
        return _routes(request).filter(pk=route_id).first() if str(route_id).isdigit() else None

    @extend_schema(operation_id="gateway_routes_get", tags=TAGS, responses={200: ROUTE, 404: WEB_MESSAGE})
    def get(self, request, route_id):
        route = self._get(request, route_id)
        if route is None:
            return dhis2.not_found(f"Route {route_id} could not be found.")
        return Response(route_representation(route))

    @extend_schema(
        operation_id="gateway_routes_update",
        tags=TAGS,
        request=OpenApiTypes.OBJECT,
        examples=[BODY],
        responses={200: WEB_MESSAGE, 400: WEB_MESSAGE, 404: WEB_MESSAGE},
    )
    def put(self, request, route_id):
        route = self._get(request, route_id)
        if route is None:
            return dhis2.not_found(f"Route {route_id} could not be found.")
        return _save(request, route)

    @extend_schema(operation_id="gateway_routes_delete", tags=TAGS, responses={200: WEB_MESSAGE, 404: WEB_MESSAGE})
    def delete(self, request, route_id):
        route = self._get(request, route_id)
        if route is None:
            return dhis2.not_found(f"Route {route_id} could not be found.")
        route_delete(route=route)
        return dhis2.web_message("Route removed")
