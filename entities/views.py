"""Entity APIs: /api/v1/patients/, /api/v1/caregivers/, /api/v1/organization-users/ in BioT's shape.

Every queryset is scoped to the caller's organization; another organization's id is a 404.
"""

import uuid

from django.db.models import Q
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from entities.models import Caregiver, EntityType, Organization, OrganizationUser, Patient
from entities.selectors import organization_for_user, scope_to_user
from entities.serializers import EntityInputSerializer, entity_biot_representation
from entities.services import entity_save
from entities.views_consent import person_consent_get, person_consent_post, person_consent_schema
from smsportal.exceptions import ApiError, ApiErrorSerializer
from smsportal.pagination import BoundedLimitOffsetPagination
from smsportal.phones import InvalidPhoneNumber, to_e164


class EntityOutputSerializer(serializers.Serializer):
    """Documentation of BioT's entity shape; rendering is `entity_biot_representation`."""

    _id = serializers.UUIDField()
    _name = serializers.DictField(help_text="{firstName, lastName}")
    _description = serializers.CharField()
    _email = serializers.EmailField(allow_null=True)
    _phone = serializers.CharField(allow_null=True, help_text="E.164")
    _locale = serializers.CharField(allow_null=True)
    _gender = serializers.CharField(allow_null=True)
    _dateOfBirth = serializers.DateField(allow_null=True)  # noqa: N815
    _address = serializers.DictField(help_text="{countryCode, state, city, zipCode, address1, address2}")
    _mfa = serializers.DictField(help_text="{enabled, expirationInMinutes}")
    _nationalId = serializers.CharField(allow_null=True)  # noqa: N815
    _ownerOrganization = serializers.DictField(help_text="{id, name, templateId, parentEntityId}")  # noqa: N815
    _creationTime = serializers.DateTimeField()  # noqa: N815
    _lastModifiedTime = serializers.DateTimeField()  # noqa: N815
    _invitationAccepted = serializers.BooleanField()  # noqa: N815
    _template = serializers.DictField(help_text="{id, name, displayName}")
    _referencers = serializers.DictField()
    _enabled = serializers.ChoiceField(choices=["ENABLED", "DISABLED"])
    _username = serializers.CharField(allow_null=True)
    _registrationSource = serializers.CharField()  # noqa: N815
    _canLogin = serializers.BooleanField()  # noqa: N815
    _caption = serializers.CharField()

    def to_representation(self, instance):
        return entity_biot_representation(instance)


@extend_schema_serializer(many=False)  # the list answer is one page object, not an array
class EntityListSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = EntityOutputSerializer(many=True)


def _schema(label: str):
    errors = {400: OpenApiResponse(ApiErrorSerializer, description="a field is invalid; `field`/`fields` name it")}
    not_found = {404: OpenApiResponse(ApiErrorSerializer, description=f"no such {label} in your organization")}
    return extend_schema_view(
        list=extend_schema(
            tags=["Entities"],
            parameters=[
                OpenApiParameter("phone", str, description="E.164 number: who has it"),
                OpenApiParameter("search", str, description="name, email or national id contains"),
                OpenApiParameter("enabled", str, enum=["ENABLED", "DISABLED"]),
            ],
            responses={200: EntityListSerializer},
        ),
        create=extend_schema(
            tags=["Entities"], request=EntityInputSerializer, responses={201: EntityOutputSerializer, **errors}
        ),
        retrieve=extend_schema(tags=["Entities"], responses={200: EntityOutputSerializer, **not_found}),
        update=extend_schema(
            tags=["Entities"],
            request=EntityInputSerializer,
            responses={200: EntityOutputSerializer, **errors, **not_found},
        ),
        partial_update=extend_schema(
            tags=["Entities"],
            request=EntityInputSerializer,
            responses={200: EntityOutputSerializer, **errors, **not_found},
        ),
        destroy=extend_schema(tags=["Entities"], responses={204: None, **not_found}),
    )


class EntityViewSet(viewsets.ViewSet):
    """CRUD for one entity type, in BioT's representation."""

    entity_type: str = ""
    model = None
    lookup_value_regex = "[^/]+"  # any id reaches the view, so a malformed one is a JSON 404 too

    def get_queryset(self):
        queryset = scope_to_user(self.model.objects.select_related("organization"), self.request.user)
        if self.model is Patient:
            queryset = queryset.prefetch_related("caregivers")
        if self.model is Caregiver:
            queryset = queryset.prefetch_related("patients")
        return queryset

    def get_object(self, pk):
        try:
            uuid.UUID(str(pk))
        except ValueError:
            entity = None
        else:
            entity = self.get_queryset().filter(pk=pk).first()
        if entity is None:
            raise ApiError(f"no {self.entity_type} with id {pk}", status_code=404, field="id", code="not_found")
        return entity

    def _organization_for_create(self, data) -> Organization:
        organization = organization_for_user(self.request.user)
        if organization is not None:
            return organization
        # A superuser acts for no organization of their own and names one.
        owner = data.get("_ownerOrganization") if isinstance(data, dict) else None
        org_id = owner.get("id") if isinstance(owner, dict) else None
        organization = Organization.objects.filter(pk=org_id).first() if org_id else None
        if organization is None:
            raise ApiError("give _ownerOrganization.id of an existing organization", field="_ownerOrganization")
        return organization

    def _input(self, data, organization, *, partial: bool) -> EntityInputSerializer:
        serializer = EntityInputSerializer(data=data, entity_type=self.entity_type, partial=partial)
        serializer.is_valid(raise_exception=True)
        return serializer

    def _patients(self, serializer, organization):
        ids = serializer.validated_data.get("patients")
        if ids is None:
            return None
        patients = list(Patient.objects.filter(organization=organization, pk__in=ids))
        if len(patients) != len(set(ids)):
            raise ApiError("unknown patient id (not in this organization)", field="patients")
        return patients

    def list(self, request):
        queryset = self.get_queryset()
        phone = request.query_params.get("phone")
        if phone:
            try:
                queryset = queryset.filter(phone=to_e164(phone, strict=False))
            except InvalidPhoneNumber as exc:
                raise ApiError(str(exc), field="phone")
        search = request.query_params.get("search")
        if search:
            queryset = queryset.filter(
                Q(first_name__icontains=search)
                | Q(last_name__icontains=search)
                | Q(email__icontains=search)
                | Q(national_id__icontains=search)
            )
        enabled = request.query_params.get("enabled")
        if enabled:
            queryset = queryset.filter(enabled=enabled.upper())
        paginator = BoundedLimitOffsetPagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response([entity_biot_representation(e) for e in page])

    def create(self, request):
        organization = self._organization_for_create(request.data)
        serializer = self._input(request.data, organization, partial=False)
        entity = self.model(organization=organization)
        entity = entity_save(
            entity=entity, fields=serializer.model_fields(), patients=self._patients(serializer, organization)
        )
        return Response(entity_biot_representation(entity), status=status.HTTP_201_CREATED)

    def retrieve(self, request, pk=None):
        return Response(entity_biot_representation(self.get_object(pk)))

    def update(self, request, pk=None, partial=False):
        entity = self.get_object(pk)
        serializer = self._input(request.data, entity.organization, partial=partial)
        entity = entity_save(
            entity=entity, fields=serializer.model_fields(), patients=self._patients(serializer, entity.organization)
        )
        return Response(entity_biot_representation(self.get_queryset().get(pk=entity.pk)))

    def partial_update(self, request, pk=None):
        return self.update(request, pk=pk, partial=True)

    def destroy(self, request, pk=None):
        self.get_object(pk).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    @person_consent_schema
    @action(detail=True, methods=["get", "post"], url_path="consent")
    def consent(self, request, pk=None):
        """The person's consent per program and its full history; POST appends a change."""
        person = self.get_object(pk)
        if request.method == "POST":
            return person_consent_post(request, person)
        return person_consent_get(person)


@_schema("patient")
class PatientViewSet(EntityViewSet):
    entity_type = EntityType.PATIENT
    model = Patient


@_schema("caregiver")
class CaregiverViewSet(EntityViewSet):
    entity_type = EntityType.CAREGIVER
    model = Caregiver


@_schema("organization user")
class OrganizationUserViewSet(EntityViewSet):
    entity_type = EntityType.ORGANIZATION_USER
    model = OrganizationUser
