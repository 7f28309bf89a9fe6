"""Consent APIs: /api/v1/consent-programs/, /api/v1/consent-records/, and a person's
/api/v1/<patients|caregivers|organization-users>/<id>/consent (EntityViewSet.consent).

Every read is scoped to the caller's organization (another organization's person or program is a
404); writes go through entities/consent.py.
"""

import uuid

from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from entities.consent import ConsentError, consent_history, consent_record, consent_state, program_get
from entities.models import ENTITY_MODELS, ConsentProgram, ConsentRecord, ConsentSource
from entities.selectors import organization_for_user, scope_to_user
from entities.serializers_consent import (
    ConsentChangeSerializer,
    ConsentProgramSerializer,
    ConsentRecordSerializer,
    PersonConsentSerializer,
    person_consent_representation,
)
from smsportal.exceptions import ApiError, ApiErrorSerializer
from smsportal.pagination import BoundedLimitOffsetPagination

_ERRORS = {400: OpenApiResponse(ApiErrorSerializer, description="a field is invalid; `field` names it")}
_NOT_FOUND = {404: OpenApiResponse(ApiErrorSerializer, description="not in your organization")}
_DUPLICATE = {409: OpenApiResponse(ApiErrorSerializer, description="another program has this slug or keyword")}


def _error(exc: ConsentError) -> ApiError:
    return ApiError(exc.message, status_code=exc.status_code, field=exc.field, code=exc.code)


def person_consent_get(person) -> Response:
    return Response(
        person_consent_representation(
            person=person, state=consent_state(person=person), history=consent_history(person=person)
        )
    )


def person_consent_post(request, person) -> Response:
    """Record a change for a person the caller can see (the view found it in their organization)."""
    serializer = ConsentChangeSerializer(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    organization = person.organization
    try:
        program = program_get(organization=organization, program=data["program"])
        consent_record(
            organization=organization,
            person=person,
            program=program,
            status=data["status"],
            source=ConsentSource.API,
            text=data.get("text", ""),
            note=data.get("note", ""),
            user=request.user if getattr(request.user, "pk", None) else None,
            api_key=getattr(request.user, "api_key", None),
        )
    except ConsentError as exc:
        raise _error(exc)
    response = person_consent_get(person)
    response.status_code = status.HTTP_201_CREATED
    return response


def person_consent_schema(view):
    """The OpenAPI description of EntityViewSet.consent (GET and POST)."""
    view = extend_schema(methods=["GET"], tags=["Consent"], responses={200: PersonConsentSerializer, **_NOT_FOUND})(
        view
    )
    return extend_schema(
        methods=["POST"],
        tags=["Consent"],
        request=ConsentChangeSerializer,
        responses={201: PersonConsentSerializer, **_ERRORS, **_NOT_FOUND},
        description="Append a consent change (source `api`, by the calling key or user). An unknown "
        "program is a 400 naming `program`; a person of another organization is a 404.",
    )(view)


def _organization(request):
    organization = organization_for_user(request.user)
    if organization is None:
        raise ApiError("consent programs belong to an organization: use an organization's API key", status_code=403)
    return organization


@extend_schema_view(
    list=extend_schema(tags=["Consent"]),
    create=extend_schema(tags=["Consent"], responses={201: ConsentProgramSerializer, **_ERRORS, **_DUPLICATE}),
    retrieve=extend_schema(tags=["Consent"], responses={200: ConsentProgramSerializer, **_NOT_FOUND}),
    partial_update=extend_schema(
        tags=["Consent"], responses={200: ConsentProgramSerializer, **_ERRORS, **_NOT_FOUND, **_DUPLICATE}
    ),
)
class ConsentProgramViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """The organization's consent programs, by slug."""

    serializer_class = ConsentProgramSerializer
    lookup_field = "slug"
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        return scope_to_user(ConsentProgram.objects.all(), self.request.user)

    def get_object(self):
        program = self.get_queryset().filter(slug=self.kwargs["slug"]).first()
        if program is None:
            raise ApiError("no such program in your organization", status_code=404, field="slug", code="not_found")
        return program

    def perform_create(self, serializer):
        self._save(serializer, organization=_organization(self.request))

    def perform_update(self, serializer):
        self._save(serializer, organization=serializer.instance.organization)

    def _save(self, serializer, *, organization):
        data = serializer.validated_data
        others = ConsentProgram.objects.filter(organization=organization)
        if serializer.instance is not None:
            others = others.exclude(pk=serializer.instance.pk)
        if "slug" in data and others.filter(slug=data["slug"]).exists():
            raise ApiError("a program with this slug exists", status_code=409, field="slug", code="duplicate")
        if data.get("keyword") and others.filter(keyword=data["keyword"]).exists():
            raise ApiError("another program has this keyword", status_code=409, field="keyword", code="duplicate")
        try:
            with transaction.atomic():
                serializer.save(organization=organization)
        except IntegrityError:  # a concurrent create with the same slug or keyword
            raise ApiError("a program with this slug or keyword exists", status_code=409, field="slug")


@extend_schema_view(
    list=extend_schema(
        tags=["Consent"],
        parameters=[
            OpenApiParameter("program", str, description="a program's slug"),
            OpenApiParameter("entityType", str, enum=list(ENTITY_MODELS)),
            OpenApiParameter("entityId", str),
            OpenApiParameter("status", str, enum=["opted_in", "opted_out", "unknown"]),
        ],
        responses={200: ConsentRecordSerializer(many=True), **_ERRORS},
    )
)
class ConsentRecordViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The organization's consent ledger, newest first (paged): every change ever recorded."""

    serializer_class = ConsentRecordSerializer
    pagination_class = BoundedLimitOffsetPagination

    def get_queryset(self):
        queryset = scope_to_user(ConsentRecord.objects.select_related("program"), self.request.user)
        params = self.request.query_params
        if params.get("program"):
            queryset = queryset.filter(program__slug=params["program"])
        if params.get("entityType"):
            if params["entityType"] not in ENTITY_MODELS:
                raise ApiError(f"one of {', '.join(ENTITY_MODELS)}", field="entityType")
            queryset = queryset.filter(entity_type=params["entityType"])
        if params.get("entityId"):
            try:
                queryset = queryset.filter(entity_id=uuid.UUID(params["entityId"]))
            except ValueError:
                raise ApiError("not a UUID", field="entityId")
        if params.get("status"):
            queryset = queryset.filter(status=params["status"])
        return queryset.order_by("-created_at")
