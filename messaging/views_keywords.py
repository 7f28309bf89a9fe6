"""`/api/v1/keyword-commands`: an organization's keyword commands (docs/api.md, "Keyword commands")."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from entities.selectors import organization_for_user, scope_to_user
from messaging.models import KeywordCommand
from messaging.services.keyword_commands import KeywordCommandInvalid, keyword_command_save
from smsportal.exceptions import ApiError
from smsportal.pagination import BoundedLimitOffsetPagination
from smsportal.serializer_fields import StrictCharField

_FIELDS = {
    "keyword": "keyword",
    "action": "action",
    "pluginName": "plugin_name",
    "replyText": "reply_text",
    "enabled": "is_active",
}


class KeywordCommandOutputSerializer(serializers.ModelSerializer):
    pluginName = serializers.CharField(source="plugin_name")  # noqa: N815 — the API's JSON names
    replyText = serializers.CharField(source="reply_text")  # noqa: N815
    enabled = serializers.BooleanField(source="is_active")
    createdAt = serializers.DateTimeField(source="created_at")  # noqa: N815

    class Meta:
        model = KeywordCommand
        fields = ["id", "keyword", "action", "pluginName", "replyText", "enabled", "createdAt"]


class KeywordCommandInputSerializer(serializers.Serializer):
    keyword = StrictCharField(max_length=40, help_text="One word; stored upper-case")
    action = serializers.ChoiceField(choices=KeywordCommand.Action.choices)
    pluginName = StrictCharField(max_length=100, required=False, allow_blank=True)  # noqa: N815
    replyText = StrictCharField(max_length=320, required=False, allow_blank=True)  # noqa: N815
    enabled = serializers.BooleanField(required=False)


def _save(command: KeywordCommand, request, *, partial: bool) -> KeywordCommand:
    serializer = KeywordCommandInputSerializer(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    changes = {_FIELDS[k]: v for k, v in serializer.validated_data.items()}
    try:
        return keyword_command_save(command=command, changes=changes)
    except KeywordCommandInvalid as exc:
        raise ApiError(str(exc), field=exc.field) from None


@extend_schema(tags=["Keyword commands"])
class KeywordCommandListApi(APIView):
    """GET: the organization's keyword commands. POST: add one."""

    pagination_class = BoundedLimitOffsetPagination

    @extend_schema(responses=KeywordCommandOutputSerializer(many=True))
    def get(self, request):
        queryset = scope_to_user(KeywordCommand.objects.all(), request.user).order_by("keyword")
        paginator = BoundedLimitOffsetPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(KeywordCommandOutputSerializer(page, many=True).data)

    @extend_schema(request=KeywordCommandInputSerializer, responses={201: KeywordCommandOutputSerializer})
    def post(self, request):
        organization = organization_for_user(request.user)
        if organization is None:
            raise ApiError("act as an organization: use an organization's API key", status_code=403)
        command = _save(KeywordCommand(organization=organization), request, partial=False)
        return Response(KeywordCommandOutputSerializer(command).data, status=201)


@extend_schema(tags=["Keyword commands"])
class KeywordCommandDetailApi(APIView):
    """GET, PUT (all fields), PATCH (some), DELETE one keyword command of the organization."""

    def _get(self, request, pk) -> KeywordCommand:
        queryset = scope_to_user(KeywordCommand.objects.select_related("organization"), request.user)
        return get_object_or_404(queryset, pk=pk)

    @extend_schema(responses=KeywordCommandOutputSerializer)
    def get(self, request, pk):
        return Response(KeywordCommandOutputSerializer(self._get(request, pk)).data)

    @extend_schema(request=KeywordCommandInputSerializer, responses=KeywordCommandOutputSerializer)
    def put(self, request, pk):
        command = _save(self._get(request, pk), request, partial=False)
        return Response(KeywordCommandOutputSerializer(command).data)

    @extend_schema(request=KeywordCommandInputSerializer, responses=KeywordCommandOutputSerializer)
    def patch(self, request, pk):
        command = _save(self._get(request, pk), request, partial=True)
        return Response(KeywordCommandOutputSerializer(command).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        self._get(request, pk).delete()
        return Response(status=204)
