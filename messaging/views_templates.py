"""`/api/v1/message-templates`: an organization's message templates by language (docs/api.md,
"Message templates"), and `/api/v1/message-templates/kinds`: what each kind is for, the
placeholders it accepts and the built-in English text sent when no template matches."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

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


_OUT = MessageTemplateOutputSerializer


@extend_schema_view(
    list=extend_schema(responses=_OUT(many=True)),
    create=extend_schema(request=MessageTemplateInputSerializer, responses={201: _OUT}),
    update=extend_schema(request=MessageTemplateInputSerializer, responses=_OUT),
    partial_update=extend_schema(request=MessageTemplateInputSerializer, responses=_OUT),
)
@extend_schema(tags=TAGS)
class MessageTemplateViewSet(viewsets.ModelViewSet):
    """The organization's templates (`?kind=`, `?locale=`); one deleted falls back as docs/api.md
    describes (the organization's default locale, then the built-in English text)."""

    serializer_class = _OUT
    pagination_class = BoundedLimitOffsetPagination
    lookup_value_regex = "[0-9]{1,18}"

    def get_queryset(self):
        queryset = scope_to_user(MessageTemplate.objects.all(), self.request.user).order_by("kind", "locale", "id")
        if self.action != "list":
            return queryset
        if kind := self.request.query_params.get("kind"):
            if kind not in TemplateKind.values:
                raise ApiError(f"kind: one of {', '.join(TemplateKind.values)}", field="kind")
            queryset = queryset.filter(kind=kind)
        if locale := self.request.query_params.get("locale"):
            queryset = queryset.filter(locale=locale_normalize(locale))
        return queryset

    def create(self, request, *args, **kwargs):
        organization = organization_for_user(request.user)
        if organization is None:
            raise ApiError("act as an organization: use an organization's API key", status_code=403)
        template = _save(MessageTemplate(organization=organization), request, partial=False)
        return Response(_OUT(template).data, status=201)

    def update(self, request, *args, partial=False, **kwargs):
        return Response(_OUT(_save(self.get_object(), request, partial=partial)).data)

    @extend_schema(responses=TemplateKindSerializer(many=True))
    @action(detail=False, pagination_class=None)
    def kinds(self, request):
        """Every kind of text smsportal writes itself, the placeholders it accepts and its built-in text."""
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
