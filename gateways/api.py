"""The DHIS2 gateway API (`/api/gateways`, also under `/api/<version>/`), scoped to the caller's organization.

Thin: find the gateway (another organization's is a 404), call gateways.services, answer with
DHIS2's WebMessage envelope. Secrets are never returned (docs/gateways.md). We differ from DHIS2
on purpose: malformed input (missing or unknown `type`, a missing required field, a
malformed or private URL) is a 400 naming the field; several gateways of one type are allowed.
"""

import uuid

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from entities.selectors import organization_for_user, scope_to_user
from gateways.exceptions import ConfigError
from gateways.models import Gateway
from gateways.providers import type_for_route, typed_routes
from gateways.selectors import gateway_default_for
from gateways.services import (
    DefaultExistsError,
    TypeChangeError,
    gateway_create,
    gateway_delete,
    gateway_global_representation,
    gateway_inbound_warnings,
    gateway_representation,
    gateway_set_default,
    gateway_update,
)
from smsportal import dhis2

TAGS = ["DHIS2 gateways"]
GATEWAY_SCHEMA = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="A gateway: type, uid, id, name, isDefault, isActive, global (false for the organization's own), "
    "inboundUrl, statusUrl, inboundNumbers and the type's DHIS2 fields; secrets shown as ******** when set, never "
    "in clear.",
)
WEB_MESSAGE = OpenApiResponse(OpenApiTypes.OBJECT, description="DHIS2 WebMessage envelope")
# The typed routes match only these words (gateways/api_urls.py); any other is a gateway uid.
ROUTE = OpenApiParameter("route", OpenApiTypes.STR, OpenApiParameter.PATH, enum=typed_routes())


def _gateways(request):
    return scope_to_user(Gateway.objects.all(), request.user).prefetch_related("inbound_numbers")


def _get(request, uid) -> Gateway | None:
    try:
        pk = uuid.UUID(str(uid))
    except ValueError:
        return None
    return _gateways(request).filter(pk=pk).first()


def _not_found(uid) -> Response:
    return dhis2.not_found(f"Gateway with id {uid} could not be found.")


def _config_error(exc: ConfigError) -> Response:
    if isinstance(exc, TypeChangeError | DefaultExistsError):
        return dhis2.conflict(str(exc))
    if len(exc.errors) == 1:
        return dhis2.bad_request(str(exc), field=exc.field)
    # Several problems: the message lists them all, `response.errors` has one entry per field.
    return dhis2.web_message(
        "; ".join(message for _, message in exc.errors),
        http_status=400,
        response={"field": exc.field, "errors": [{"field": f, "message": m} for f, m in exc.errors]},
    )


def _body(request):
    return request.data if isinstance(request.data, dict) else None


class GatewayListApi(APIView):
    """`GET /api/gateways` → `{"gateways": [...]}`; `POST /api/gateways` with a `type` creates one."""

    @extend_schema(operation_id="dhis2_gateways_list", tags=TAGS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request):
        return Response({"gateways": [gateway_representation(g) for g in _gateways(request)]})

    @extend_schema(
        operation_id="dhis2_gateways_create",
        tags=TAGS,
        request=OpenApiTypes.OBJECT,
        responses={200: WEB_MESSAGE, 400: WEB_MESSAGE},
    )
    def post(self, request):
        return _create(request, None)


@extend_schema(parameters=[ROUTE])
class GatewayTypedListApi(APIView):
    """The seed's typed routes: `GET`/`POST`/`PUT /api/gateways/clickatell|bulksms|generichttp|twilio|sns`."""

    @extend_schema(operation_id="dhis2_gateways_typed_list", tags=TAGS, responses={200: OpenApiTypes.OBJECT})
    def get(self, request, route):
        gateways = _gateways(request).filter(type=type_for_route(route))
        return Response({"gateways": [gateway_representation(g) for g in gateways]})

    @extend_schema(
        operation_id="dhis2_gateways_typed_create",
        tags=TAGS,
        request=OpenApiTypes.OBJECT,
        # Another word than a type names a gateway (/api/gateways/{uid}), which takes no POST.
        responses={200: WEB_MESSAGE, 400: WEB_MESSAGE, 405: OpenApiResponse(OpenApiTypes.OBJECT)},
    )
    def post(self, request, route):
        return _create(request, type_for_route(route))

    @extend_schema(
        operation_id="dhis2_gateways_typed_update",
        tags=TAGS,
        request=OpenApiTypes.OBJECT,
        responses={200: WEB_MESSAGE, 400: WEB_MESSAGE, 404: WEB_MESSAGE, 409: WEB_MESSAGE},
    )
    def put(self, request, route):
        """Typed update without a uid in the path: the body's `uid`, else the organization's only one."""
        body = _body(request) or {}
        uid = body.get("uid") or body.get("id")
        if uid:
            return _update(request, uid, type_for_route(route))
        candidates = list(_gateways(request).filter(type=type_for_route(route))[:2])
        if len(candidates) != 1:
            return dhis2.bad_request(
                "uid is required: the organization has "
                + ("no" if not candidates else "several")
                + f" {route} gateways",
                field="uid",
            )
        return _update(request, candidates[0].pk, type_for_route(route))


def _create(request, type_):
    body = _body(request)
    if body is None:
        return dhis2.bad_request("the body must be a JSON object", field="body")
    try:
        gateway = gateway_create(organization=organization_for_user(request.user), data=body, type_=type_)
    except ConfigError as exc:
        return _config_error(exc)
    location = request.build_absolute_uri(f"/api/gateways/{gateway.uid}")
    response = {"uid": gateway.uid, "inboundUrl": gateway_representation(gateway)["inboundUrl"]}
    warnings = gateway_inbound_warnings(gateway=gateway)
    if warnings:
        response["warnings"] = warnings
    return dhis2.web_message("Gateway configuration added", response=response, headers={"Location": location})


def _update(request, uid, type_=None):
    gateway = _get(request, uid)
    if gateway is None:
        return _not_found(uid)
    body = _body(request)
    if body is None:
        return dhis2.bad_request("the body must be a JSON object", field="body")
    try:
        gateway_update(gateway=gateway, data=body, type_=type_)
    except ConfigError as exc:
        return _config_error(exc)
    warnings = gateway_inbound_warnings(gateway=gateway) if "inboundNumbers" in body else []
    return dhis2.web_message(
        f"Gateway with uid: {gateway.uid} has been updated", response={"warnings": warnings} if warnings else None
    )


@extend_schema(parameters=[ROUTE])
class GatewayTypedUpdateApi(APIView):
    """`PUT /api/gateways/<type>/{uid}`: update a gateway of that type."""

    @extend_schema(
        operation_id="dhis2_gateways_typed_update_uid",
        tags=TAGS,
        request=OpenApiTypes.OBJECT,
        responses={200: WEB_MESSAGE, 400: WEB_MESSAGE, 404: WEB_MESSAGE, 409: WEB_MESSAGE},
    )
    def put(self, request, route, uid):
        return _update(request, uid, type_for_route(route))


class GatewayDetailApi(APIView):
    """`GET`, `PUT`, `DELETE /api/gateways/{uid}`."""

    @extend_schema(operation_id="dhis2_gateways_get", tags=TAGS, responses={200: GATEWAY_SCHEMA, 404: WEB_MESSAGE})
    def get(self, request, uid):
        gateway = _get(request, uid)
        if gateway is None:
            return _not_found(uid)
        return Response(gateway_representation(gateway))

    @extend_schema(
        operation_id="dhis2_gateways_update",
        tags=TAGS,
        request=OpenApiTypes.OBJECT,
        responses={200: WEB_MESSAGE, 400: WEB_MESSAGE, 404: WEB_MESSAGE, 409: WEB_MESSAGE},
    )
    def put(self, request, uid):
        return _update(request, uid)

    @extend_schema(operation_id="dhis2_gateways_delete", tags=TAGS, responses={200: WEB_MESSAGE, 404: WEB_MESSAGE})
    def delete(self, request, uid):
        gateway = _get(request, uid)
        if gateway is None:
            return _not_found(uid)
        gateway_delete(gateway=gateway)
        return dhis2.web_message("Gateway removed successfully")


class GatewayDefaultApi(APIView):
    """`GET /api/gateways/default`: the gateway the organization's sends use by default.

    That is its own active default, else the global default (`"global": true`, shown read-only:
    no settings, no webhook URLs; PUT/DELETE on its uid are 404 for the organization).
    """

    @extend_schema(
        operation_id="dhis2_gateways_default",
        tags=TAGS,
        responses={
            200: OpenApiResponse(
                OpenApiTypes.OBJECT,
                description="The organization's default gateway (`global: false`), or, when it has no active "
                "default, the global default its sends use (`global: true`; type, uid, name and inboundNumbers "
                "only, read-only).",
            ),
            404: WEB_MESSAGE,
        },
    )
    def get(self, request):
        organization = organization_for_user(request.user)
        gateway = gateway_default_for(organization=organization)
        if gateway is None:
            return dhis2.not_found("No default gateway found")
        if gateway.organization_id is None and organization is not None:
            return Response(gateway_global_representation(gateway, organization=organization))
        return Response(gateway_representation(gateway))


class GatewaySetDefaultApi(APIView):
    """`PUT /api/gateways/default/{uid}`: make that gateway the organization's default."""

    @extend_schema(
        operation_id="dhis2_gateways_set_default",
        tags=TAGS,
        request=None,
        responses={200: WEB_MESSAGE, 404: WEB_MESSAGE},
    )
    def put(self, request, uid):
        gateway = _get(request, uid)
        if gateway is None:
            return _not_found(uid)
        gateway_set_default(gateway=gateway)
        return dhis2.web_message(f"{gateway.name} is set to default")
