"""`/api/v1/follow-ups/`: the Follow up list over the API (camelCase like the rest of the BioT-style API).

Scoped with entities.selectors.scope_to_user: another organization's item is a 404. Changes go
through adherence/follow_up.py; a refused change is a 400 naming the field.
"""

import uuid

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from adherence import follow_up as services
from adherence.models import FollowUp, FollowUpEvent
from entities.models import OrganizationUser
from entities.selectors import scope_to_user
from smsportal.exceptions import ApiError
from smsportal.serializer_fields import StrictCharField


class FollowUpEventSerializer(serializers.ModelSerializer):
    assignedToId = serializers.UUIDField(source="assigned_to_id", allow_null=True)
    byUser = serializers.CharField(source="by.username", allow_null=True, default=None)
    outcome = serializers.ChoiceField(choices=FollowUp.Outcome.choices, allow_blank=True, help_text="Empty: none.")

    class Meta:
        model = FollowUpEvent
        fields = ["kind", "outcome", "note", "assignedToId", "byUser", "at"]
        read_only_fields = fields


class FollowUpSerializer(serializers.ModelSerializer):
    patientId = serializers.UUIDField(source="patient_id")
    scheduleId = serializers.UUIDField(source="schedule_id", allow_null=True)
    assignedToId = serializers.UUIDField(source="assigned_to_id", allow_null=True)
    openedAt = serializers.DateTimeField(source="opened_at")
    closedAt = serializers.DateTimeField(source="closed_at", allow_null=True)
    history = FollowUpEventSerializer(source="events", many=True)
    outcome = serializers.ChoiceField(
        choices=FollowUp.Outcome.choices, allow_blank=True, help_text="The last outcome recorded; empty: none yet."
    )

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "patientId",
            "reason",
            "status",
            "scheduleId",
            "assignedToId",
            "detail",
            "outcome",
            "openedAt",
            "closedAt",
            "history",
        ]
        read_only_fields = fields


class AssignSerializer(serializers.Serializer):
    assigneeId = serializers.UUIDField(allow_null=True, help_text="An organization user; null: the team.")


class OutcomeSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=FollowUp.Outcome.choices)
    note = StrictCharField(required=False, allow_blank=True, max_length=services.NOTE_MAX, default="")
    close = serializers.BooleanField(required=False, default=False)


class NoteSerializer(serializers.Serializer):
    note = StrictCharField(required=False, allow_blank=True, max_length=services.NOTE_MAX, default="")


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=FollowUp.Status.values, description="open or closed."),
            OpenApiParameter("reason", str, enum=FollowUp.Reason.values),
            OpenApiParameter("assigneeId", str, description='An organization user\'s id, or "none" (the team).'),
            OpenApiParameter("patientId", str, description="Only this patient's items (UUID)."),
        ]
    ),
)
@extend_schema(tags=["Follow-ups"])
class FollowUpViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Patients on the Follow up list: N missed doses in a row or D days without a reply
    (docs/portal.md, "Follow up"). Items are opened by smsportal, never over the API."""

    serializer_class = FollowUpSerializer
    lookup_value_regex = "[0-9a-fA-F-]{36}"

    def get_queryset(self):
        qs = scope_to_user(FollowUp.objects.all(), self.request.user).prefetch_related("events__by")
        params = self.request.query_params
        filters = {"status": FollowUp.Status.values, "reason": FollowUp.Reason.values}
        for name, allowed in filters.items():
            value = params.get(name)
            if value is not None and value not in allowed:
                raise ApiError(f"one of {', '.join(allowed)}", status_code=400, field=name)
            if value:
                qs = qs.filter(**{name: value})
        for name, field in (("patientId", "patient_id"), ("assigneeId", "assigned_to_id")):
            value = params.get(name)
            if value == "none" and name == "assigneeId":
                qs = qs.filter(assigned_to__isnull=True)
            elif value:
                qs = qs.filter(**{field: _uuid(value, name)})
        return qs.order_by("-opened_at")

    def _change(self, request, call, serializer_class, *, extra):
        item = self.get_object()
        data = serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            item = call(item=item, by=request.user, **extra(data.validated_data))
        except services.FollowUpError as exc:
            raise ApiError(exc.problem, status_code=400, field=exc.field)
        return Response(FollowUpSerializer(FollowUp.objects.get(pk=item.pk)).data)

    @extend_schema(request=AssignSerializer, responses=FollowUpSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Give the item to an organization user (`assigneeId`), or back to the team (null)."""
        return self._change(request, services.follow_up_assign, AssignSerializer, extra=self._assignee)

    @extend_schema(request=OutcomeSerializer, responses=FollowUpSerializer)
    @action(detail=True, methods=["post"])
    def outcome(self, request, pk=None):
        """Record what staff did: reached, not_reached, visited or note (a note needs text); `close` to close."""
        return self._change(request, services.follow_up_record, OutcomeSerializer, extra=dict)

    @extend_schema(request=NoteSerializer, responses=FollowUpSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        return self._change(request, services.follow_up_close, NoteSerializer, extra=dict)

    @extend_schema(request=NoteSerializer, responses=FollowUpSerializer)
    @action(detail=True, methods=["post"])
    def reopen(self, request, pk=None):
        """Back on the list; 400 (`status`) while the patient has another open item of that reason."""
        return self._change(request, services.follow_up_reopen, NoteSerializer, extra=dict)

    def _assignee(self, data):
        assignee_id = data["assigneeId"]
        if assignee_id is None:
            return {"assignee": None}
        organization_id = self.get_object().organization_id
        assignee = OrganizationUser.objects.filter(pk=assignee_id, organization_id=organization_id).first()
        if assignee is None:
            raise ApiError("not a staff member of this organization", status_code=400, field="assigneeId")
        return {"assignee": assignee}


def _uuid(value: str, field: str):
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ApiError("not a UUID", status_code=400, field=field)
