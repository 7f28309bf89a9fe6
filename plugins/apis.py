"""Plugin APIs: /api/v1/plugins/ (registrations and invocations), BioT's subscribe calls, and the JWKS."""

import uuid

from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_GET
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from entities.selectors import organization_for_user, scope_to_user
from plugins.choices import ENTITY_TYPES, PluginAction
from plugins.invocations import invocation_retry_now
from plugins.models import PluginInvocation, PluginRegistration
from plugins.registrations import biot_subscribe, biot_unsubscribe, registration_create, registration_update
from plugins.signing import jwks
from smsportal.exceptions import ApiError, ApiErrorSerializer
from smsportal.pagination import BoundedLimitOffsetPagination

# JSON name → model field
_FIELDS = {
    "name": "name",
    "url": "url",
    "handler": "handler",
    "entityTypes": "entity_types",
    "actions": "actions",
    "enabled": "enabled",
    "timeoutSeconds": "timeout_seconds",
    "maxAttempts": "max_attempts",
}


class PluginOutputSerializer(serializers.ModelSerializer):
    entityTypes = serializers.JSONField(source="entity_types")  # noqa: N815 — the API's JSON names
    timeoutSeconds = serializers.IntegerField(source="timeout_seconds")  # noqa: N815
    maxAttempts = serializers.IntegerField(source="max_attempts")  # noqa: N815
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815
    updatedAt = serializers.DateTimeField(source="updated_at")  # noqa: N815

    class Meta:
        model = PluginRegistration
        fields = [
            "id",
            "name",
            "kind",
            "url",
            "handler",
            "entityTypes",
            "actions",
            "enabled",
            "timeoutSeconds",
            "maxAttempts",
            "createdAt",
            "updatedAt",
        ]


class PluginInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    url = serializers.URLField(max_length=500, required=False, allow_blank=True, default="")
    handler = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    entityTypes = serializers.ListField(  # noqa: N815
        child=serializers.ChoiceField(choices=ENTITY_TYPES), allow_empty=False
    )
    actions = serializers.ListField(child=serializers.ChoiceField(choices=PluginAction.values), allow_empty=False)
    enabled = serializers.BooleanField(required=False, default=True)
    timeoutSeconds = serializers.IntegerField(min_value=1, max_value=60, required=False, default=10)  # noqa: N815
    maxAttempts = serializers.IntegerField(min_value=1, max_value=20, required=False, default=5)  # noqa: N815


def _to_model_fields(data: dict) -> dict:
    return {_FIELDS[k]: v for k, v in data.items() if k in _FIELDS}


def _organization(request):
    org = organization_for_user(request.user)
    if org is None:
        raise ApiError("act as an organization: use an organization's API key", status_code=403)
    return org


def _value_error(exc: ValueError) -> ApiError:
    field, _, text = str(exc).partition(": ")
    return ApiError(str(exc), field=field if text else None)


def _paginate(request, view, queryset, serializer_class):
    paginator = BoundedLimitOffsetPagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(serializer_class(page, many=True).data)


@extend_schema(tags=["Plugins"])
class PluginListCreateApi(APIView):
    """GET: the organization's plugins. POST: register one (answers with it, its id and its webhook secret)."""

    pagination_class = BoundedLimitOffsetPagination  # for the schema: GET answers a page (`_paginate`)

    @extend_schema(responses=PluginOutputSerializer(many=True))
    def get(self, request):
        qs = scope_to_user(PluginRegistration.objects.all(), request.user)
        return _paginate(request, self, qs.order_by("name"), PluginOutputSerializer)

    @extend_schema(request=PluginInputSerializer, responses={201: PluginOutputSerializer})
    def post(self, request):
        serializer = PluginInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            registration, secret = registration_create(
                organization=_organization(request), **_to_model_fields(serializer.validated_data)
            )
        except ValueError as exc:
            raise _value_error(exc)
        body = PluginOutputSerializer(registration).data
        if secret:
            body["webhookSecret"] = secret  # shown once; verify `webhook-signature` with it
        return Response(body, status=201)


@extend_schema(tags=["Plugins"])
class PluginDetailApi(APIView):
    """One plugin: GET, PUT (all fields), PATCH (some), DELETE."""

    def _get(self, request, plugin_id):
        return get_object_or_404(scope_to_user(PluginRegistration.objects.all(), request.user), pk=plugin_id)

    @extend_schema(responses=PluginOutputSerializer)
    def get(self, request, plugin_id):
        return Response(PluginOutputSerializer(self._get(request, plugin_id)).data)

    def _update(self, request, plugin_id, partial):
        registration = self._get(request, plugin_id)
        serializer = PluginInputSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        # Partial: DRF leaves out absent fields (defaults do not apply), so only given ones change.
        fields = _to_model_fields(serializer.validated_data)
        try:
            registration = registration_update(registration=registration, **fields)
        except ValueError as exc:
            raise _value_error(exc)
        return Response(PluginOutputSerializer(registration).data)

    @extend_schema(request=PluginInputSerializer, responses=PluginOutputSerializer)
    def put(self, request, plugin_id):
        return self._update(request, plugin_id, partial=False)

    @extend_schema(request=PluginInputSerializer, responses=PluginOutputSerializer)
    def patch(self, request, plugin_id):
        return self._update(request, plugin_id, partial=True)

    @extend_schema(responses={204: None})
    def delete(self, request, plugin_id):
        self._get(request, plugin_id).delete()
        return Response(status=204)


class InvocationOutputSerializer(serializers.ModelSerializer):
    pluginId = serializers.UUIDField(source="registration_id")  # noqa: N815
    pluginName = serializers.CharField(source="registration.name")  # noqa: N815
    inboundMessageId = serializers.UUIDField(source="inbound_message_id", allow_null=True)  # noqa: N815
    outboundMessageId = serializers.UUIDField(source="outbound_message_id", allow_null=True)  # noqa: N815
    entityType = serializers.CharField(source="entity_type")  # noqa: N815
    maxAttempts = serializers.IntegerField(source="max_attempts")  # noqa: N815
    nextAttemptAt = serializers.DateTimeField(source="next_attempt_at", allow_null=True)  # noqa: N815
    lastStatusCode = serializers.IntegerField(source="last_status_code", allow_null=True)  # noqa: N815
    lastError = serializers.CharField(source="last_error")  # noqa: N815
    lastDurationMs = serializers.IntegerField(source="last_duration_ms", allow_null=True)  # noqa: N815
    attemptLog = serializers.JSONField(source="attempt_log")  # noqa: N815
    idempotencyKey = serializers.CharField(source="idempotency_key")  # noqa: N815
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815
    finishedAt = serializers.DateTimeField(source="finished_at", allow_null=True)  # noqa: N815

    class Meta:
        model = PluginInvocation
        fields = [
            "id",
            "pluginId",
            "pluginName",
            "action",
            "status",
            "inboundMessageId",
            "outboundMessageId",
            "entityType",
            "attempts",
            "maxAttempts",
            "nextAttemptAt",
            "lastStatusCode",
            "lastError",
            "lastDurationMs",
            "attemptLog",
            "idempotencyKey",
            "createdAt",
            "finishedAt",
        ]


@extend_schema(tags=["Plugins"])
class InvocationListApi(APIView):
    """Plugin calls, newest first; filter by status, plugin, action, inboundMessageId."""

    pagination_class = BoundedLimitOffsetPagination  # for the schema: GET answers a page (`_paginate`)

    @extend_schema(
        responses=InvocationOutputSerializer(many=True),
        parameters=[
            OpenApiParameter("status", enum=PluginInvocation.Status.values),
            OpenApiParameter("plugin", description="A plugin's name or id."),
            OpenApiParameter("action", enum=PluginAction.values),
            OpenApiParameter("inboundMessageId", description="Inbound message ids, comma-separated."),
        ],
    )
    def get(self, request):
        qs = scope_to_user(PluginInvocation.objects.select_related("registration"), request.user)
        params = request.query_params
        for name, allowed in (("status", PluginInvocation.Status.values), ("action", PluginAction.values)):
            if params.get(name) and params[name] not in allowed:
                raise ApiError(f"{name}: must be one of {', '.join(allowed)}", field=name)
        try:
            if params.get("status"):
                qs = qs.filter(status=params["status"])
            if params.get("plugin"):
                qs = qs.filter(Q(registration__name=params["plugin"]) | Q(registration_id__in=_uuids(params["plugin"])))
            if params.get("action"):
                qs = qs.filter(action=params["action"])
            if params.get("inboundMessageId"):
                qs = qs.filter(inbound_message_id__in=_uuids(params["inboundMessageId"]))
        except ValueError as exc:
            raise ApiError(str(exc), field="inboundMessageId")
        return _paginate(request, self, qs.order_by("-created_at"), InvocationOutputSerializer)


def _uuids(value: str) -> list:
    out = []
    for part in value.split(","):
        try:
            out.append(uuid.UUID(part.strip()))
        except ValueError:
            continue
    return out


@extend_schema(tags=["Plugins"])
class InvocationDetailApi(APIView):
    @extend_schema(responses=InvocationOutputSerializer)
    def get(self, request, invocation_id):
        qs = scope_to_user(PluginInvocation.objects.select_related("registration"), request.user)
        return Response(InvocationOutputSerializer(get_object_or_404(qs, pk=invocation_id)).data)


@extend_schema(tags=["Plugins"])
class InvocationRetryApi(APIView):
    """POST: retry now — one more attempt for a failed or waiting invocation."""

    @extend_schema(request=None, responses=InvocationOutputSerializer)
    def post(self, request, invocation_id):
        qs = scope_to_user(PluginInvocation.objects.select_related("registration"), request.user)
        invocation = get_object_or_404(qs, pk=invocation_id)
        if not invocation_retry_now(invocation=invocation):
            raise ApiError(
                f"invocation is {invocation.status}; only failed or waiting ones can be retried", status_code=409
            )
        invocation.refresh_from_db()
        return Response(InvocationOutputSerializer(invocation).data)


class BiotSubscriptionSerializer(serializers.Serializer):
    entityTypeName = serializers.ChoiceField(choices=ENTITY_TYPES)  # noqa: N815 — BioT's names
    actionName = serializers.ChoiceField(choices=PluginAction.values)  # noqa: N815
    endpoint = serializers.URLField(max_length=500)


@extend_schema(tags=["BioT"])
class BiotSubscribeApi(APIView):
    """BioT's `POST /dispatcher/v1/hooks/notifications/subscribe`, so a plugin author's scripts run unchanged."""

    @extend_schema(
        request=BiotSubscriptionSerializer,
        responses=inline_serializer(
            "BiotSubscription",
            {
                "id": serializers.UUIDField(),
                "entityTypeName": serializers.CharField(),
                "actionName": serializers.CharField(),
                "endpoint": serializers.URLField(),
                "webhookSecret": serializers.CharField(required=False),
            },
        ),
    )
    def post(self, request):
        serializer = BiotSubscriptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        try:
            registration, secret = biot_subscribe(
                organization=_organization(request),
                entity_type=data["entityTypeName"],
                action=data["actionName"],
                endpoint=data["endpoint"],
            )
        except ValueError as exc:
            field, _, text = str(exc).partition(": ")
            raise ApiError(str(exc), field="endpoint" if field == "url" else field)
        body = {"id": str(registration.id), **serializer.data}
        if secret:
            body["webhookSecret"] = secret
        return Response(body, status=200)


@extend_schema(tags=["BioT"])
class BiotUnsubscribeApi(APIView):
    """BioT's `POST /dispatcher/v1/hooks/notifications/unsubscribe`."""

    @extend_schema(
        request=BiotSubscriptionSerializer,
        responses={204: None, 404: OpenApiResponse(ApiErrorSerializer, description="no such subscription")},
    )
    def post(self, request):
        serializer = BiotSubscriptionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        removed = biot_unsubscribe(
            organization=_organization(request),
            entity_type=data["entityTypeName"],
            action=data["actionName"],
            endpoint=data["endpoint"],
        )
        if not removed:
            raise ApiError("no such subscription", status_code=404, field="endpoint")
        return Response(status=204)


@require_GET
def jwks_view(request):
    """GET /.well-known/jwks.json: the public keys that verify plugin-call JWTs (RFC 7517)."""
    response = JsonResponse(jwks())
    response["Cache-Control"] = "public, max-age=300"
    return response
