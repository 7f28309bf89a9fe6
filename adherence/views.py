"""Thin API views: scope to the caller's organization, delegate writes to adherence.services."""

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import viewsets
from rest_framework.decorators import action

from adherence.models import DoseSlot, MedicationSchedule
from adherence.serializers import DoseSlotSerializer, MedicationScheduleSerializer
from adherence.services import schedule_save, slots_resync
from entities.selectors import organization_for_user, scope_to_user
from smsportal.exceptions import ApiError


@extend_schema_view(
    list=extend_schema(
        parameters=[OpenApiParameter("patientId", str, description="Only this patient's schedules (UUID).")]
    ),
)
@extend_schema(tags=["Medication schedules"])
class MedicationScheduleViewSet(viewsets.ModelViewSet):
    """Medication schedules of the caller's organization's patients.

    Saving a schedule creates its dose slots for the next 48 hours and drops future pending slots
    that no longer match. Bad input (unknown time zone, no dose times, end before start, unknown
    placeholder) is a 400 naming the field. Another organization's schedule is a 404.
    """

    serializer_class = MedicationScheduleSerializer
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self):
        qs = scope_to_user(MedicationSchedule.objects.select_related("patient"), self.request.user)
        patient = self.request.query_params.get("patientId")
        if patient:
            qs = qs.filter(patient_id=patient)
        return qs.order_by("created_at")

    def _organization(self):
        org = organization_for_user(self.request.user)
        if org is None and self.action in ("create",):
            raise ApiError("a superuser has no organization; use an API key of the organization", status_code=400)
        return org

    def get_serializer(self, *args, **kwargs):
        instance = args[0] if args else None
        org = getattr(instance, "organization", None) if isinstance(instance, MedicationSchedule) else None
        kwargs.setdefault("organization", org or organization_for_user(self.request.user))
        return super().get_serializer(*args, **kwargs)

    def perform_create(self, serializer):
        organization = self._organization()
        schedule = MedicationSchedule(organization=organization, **serializer.validated_data)
        serializer.instance = schedule_save(schedule=schedule)

    def perform_update(self, serializer):
        schedule = serializer.instance
        for key, value in serializer.validated_data.items():
            setattr(schedule, key, value)
        serializer.instance = schedule_save(schedule=schedule)

    @transaction.atomic
    def perform_destroy(self, instance):
        instance.active = False
        slots_resync(schedule=instance)
        instance.delete()

    @extend_schema(responses=DoseSlotSerializer(many=True))
    @action(detail=True, methods=["get"])
    def doses(self, request, pk=None):
        """The schedule's dose slots, newest first (paged)."""
        schedule = self.get_object()
        qs = DoseSlot.objects.filter(schedule=schedule).order_by("-scheduled_at")
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(DoseSlotSerializer(page, many=True).data)
