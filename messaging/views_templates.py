"""`/api/v1/message-templates`: an organization's message templates by language (docs/api.md,
"Message templates"), and `/api/v1/message-templates/kinds`: what each kind is for, the
placeholders it accepts and the built-in English text sent when no template matches."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from entities.selectors import organization_for_user, scope_to_user
from messaging.message_templates import (
    DEFAULT_TEXTS,
    PLACEHOLDERS,
    MessageTemplate,
    TemplateKind,
    template_preview,
)
from messaging.services.templates import TemplateInvalid, template_save
from smsportal.exceptions import ApiError
from smsportal.locales import locale_normalize
from smsportal.pagination import BoundedLimitOffsetPagination
from smsportal.serializer_fields import StrictCharField

TAGS = ["Message templates"]


class PreviewSerializer(serializers.Serializer):
    text = serializers.CharField(help_text="The text filled in with typical values.")
    encoding = serializers.CharField()
    segments = serializers.IntegerField()


class MessageTemplateOutputSerializer(serializers.ModelSerializer):
    preview = serializers.SerializerMethodField()
    updatedAt = serializers.DateTimeField(source="updated_at")  # noqa: N815 — the API's JSON names

    class Meta:
        model = MessageTemplate
        fields = ["id", "kind", "locale", "text", "preview", "updatedAt"]

    @extend_schema(responses=PreviewSerializer)
    def get_preview(self, template) -> dict:
        preview = template_preview(template.kind, template.text)
        return {key: preview[key] for key in ("text", "encoding", "segments")}


class MessageTemplateInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=TemplateKind.choices)
    locale = StrictCharField(max_length=16, help_text='A language ("es") or language-region ("es-mx").')
    text = StrictCharField(max_length=1600, help_text="Placeholders in braces; each kind accepts its own.")


class TemplateKindSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    placeholders = serializers.ListField(child=serializers.CharField())
    builtInText = serializers.CharField(help_text="Sent when no template matches the person's locale.")  # noqa: N815


def _save(template: MessageTemplate, request, *, partial: bool) -> MessageTemplate:
    serializer = MessageTemplateInputSerializer(data=request.data, partial=partial)
    serializer.is_valid(raise_exception=True)
    try:
        return template_save(template=template, changes=dict(serializer.validated_data))
    except TemplateInvalid as exc:
        raise ApiError(str(exc), field=exc.field, status_code=exc.status_code) from None


@extend_schema(tags=TAGS)
class MessageTemplateListApi(APIView):
    """GET: the organization's templates (`?kind=`, `?locale=`). POST: add one."""

    pagination_class = BoundedLimitOffsetPagination

    @extend_schema(responses=MessageTemplateOutputSerializer(many=True))
    def get(self, request):
        queryset = scope_to_user(MessageTemplate.objects.all(), request.user).order_by("kind", "locale", "id")
        if kind := request.query_params.get("kind"):
            if kind not in TemplateKind.values:
                raise ApiError(f"kind: one of {', '.join(TemplateKind.values)}", field="kind")
            queryset = queryset.filter(kind=kind)
        if locale := request.query_params.get("locale"):
            queryset = queryset.filter(locale=locale_normalize(locale))
        paginator = BoundedLimitOffsetPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(MessageTemplateOutputSerializer(page, many=True).data)

    @extend_schema(request=MessageTemplateInputSerializer, responses={201: MessageTemplateOutputSerializer})
    def post(self, request):
        organization = organization_for_user(request.user)
        if organization is None:
            raise ApiError("act as an organization: use an organization's API key", status_code=403)
        template = _save(MessageTemplate(organization=organization), request, partial=False)
        return Response(MessageTemplateOutputSerializer(template).data, status=201)


@extend_schema(tags=TAGS)
class MessageTemplateDetailApi(APIView):
    """GET, PUT (all fields), PATCH (some), DELETE one template of the organization. Without it,
    its kind and locale fall back as docs/api.md describes (the organization's default locale, then
    the built-in English text)."""

    def _get(self, request, pk) -> MessageTemplate:
        return get_object_or_404(scope_to_user(MessageTemplate.objects.all(), request.user), pk=pk)

    @extend_schema(responses=MessageTemplateOutputSerializer)
    def get(self, request, pk):
        return Response(MessageTemplateOutputSerializer(self._get(request, pk)).data)

    @extend_schema(request=MessageTemplateInputSerializer, responses=MessageTemplateOutputSerializer)
    def put(self, request, pk):
        template = _save(self._get(request, pk), request, partial=False)
        return Response(MessageTemplateOutputSerializer(template).data)

    @extend_schema(request=MessageTemplateInputSerializer, responses=MessageTemplateOutputSerializer)
    def patch(self, request, pk):
        template = _save(self._get(request, pk), request, partial=True)
        return Response(MessageTemplateOutputSerializer(template).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        self._get(request, pk).delete()
        return Response(status=204)


@extend_schema(tags=TAGS, responses=TemplateKindSerializer(many=True))
class MessageTemplateKindsApi(APIView):
    """GET: every kind of text smsportal writes itself, the placeholders it accepts and its built-in text."""

    def get(self, request):
        return Response(
            [
                {
                    "kind": kind.value,
                    "label": kind.label,
                    "placeholders": list(PLACEHOLDERS[kind]),
                    "builtInText": DEFAULT_TEXTS[kind],
                }
                for kind in TemplateKind
            ]
        )
