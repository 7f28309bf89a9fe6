"""`/api/v1/medication-schedules/`: camelCase like the rest of the BioT-style API."""

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from adherence.models import DoseSlot, MedicationSchedule
from adherence.schedule import schedule_validate
from entities.models import Patient
from smsportal.serializer_fields import StrictCharField

# model field → API name
FIELD_NAMES = {
    "dose_times": "doseTimes",
    "days_of_week": "daysOfWeek",
    "start_date": "startDate",
    "end_date": "endDate",
    "reminder_texts": "reminderTexts",
    "confirm_replies": "confirmReplies",
    "response_window_minutes": "responseWindowMinutes",
    "alert_caregivers": "alertCaregivers",
    "caregiver_alert_text": "caregiverAlertText",
    "follow_up_missed_doses": "followUpMissedDoses",
    "follow_up_silent_days": "followUpSilentDays",
    "patient": "patientId",
}


class MedicationScheduleSerializer(serializers.ModelSerializer):
    patientId = serializers.PrimaryKeyRelatedField(source="patient", queryset=Patient.objects.none())
    doseTimes = serializers.ListField(source="dose_times", child=StrictCharField(), allow_empty=True)
    daysOfWeek = serializers.ListField(
        source="days_of_week", child=serializers.IntegerField(min_value=0, max_value=6), required=False
    )
    startDate = serializers.DateField(source="start_date")
    endDate = serializers.DateField(source="end_date", required=False, allow_null=True)
    timezone = StrictCharField(max_length=64, required=False)
    reminderTexts = serializers.DictField(source="reminder_texts", child=StrictCharField(), required=False)
    confirmReplies = serializers.ListField(source="confirm_replies", child=StrictCharField(), required=False)
    responseWindowMinutes = serializers.IntegerField(
        source="response_window_minutes", min_value=1, max_value=1440, required=False
    )
    alertCaregivers = serializers.BooleanField(source="alert_caregivers", required=False)
    caregiverAlertText = StrictCharField(
        source="caregiver_alert_text", max_length=320, required=False, allow_blank=True
    )
    followUpMissedDoses = serializers.IntegerField(
        source="follow_up_missed_doses", min_value=0, max_value=365, required=False
    )
    followUpSilentDays = serializers.IntegerField(
        source="follow_up_silent_days", min_value=0, max_value=365, required=False
    )
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)
    updatedAt = serializers.DateTimeField(source="updated_at", read_only=True)

    class Meta:
        model = MedicationSchedule
        fields = [
            "id",
            "patientId",
            "medication",
            "doseTimes",
            "daysOfWeek",
            "startDate",
            "endDate",
            "timezone",
            "reminderTexts",
            "confirmReplies",
            "responseWindowMinutes",
            "alertCaregivers",
            "caregiverAlertText",
            "followUpMissedDoses",
            "followUpSilentDays",
            "active",
            "createdAt",
            "updatedAt",
        ]
        read_only_fields = ["id"]

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        if organization is not None:
            # Another organization's patient id reads as "does not exist", never as a hint.
            self.fields["patientId"].queryset = Patient.objects.filter(organization=organization)

    def validate(self, attrs):
        instance = self.instance or MedicationSchedule(organization=self.organization)
        probe = MedicationSchedule(
            **{
                f.attname: getattr(instance, f.attname)
                for f in MedicationSchedule._meta.concrete_fields
                if f.name != "id"
            }
        )
        if self.instance is None and "timezone" not in attrs and self.organization is not None:
            attrs["timezone"] = self.organization.timezone or "UTC"
        for key, value in attrs.items():
            setattr(probe, key, value)
        try:
            schedule_validate(probe)
        except DjangoValidationError as exc:
            raise serializers.ValidationError({FIELD_NAMES.get(k, k): v for k, v in exc.message_dict.items()}) from exc
        return attrs


@extend_schema_field({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$", "example": "08:00"})
class HourMinuteField(serializers.TimeField):
    """A wall-clock time as `HH:MM` (OpenAPI's `format: time` would demand seconds and an offset)."""

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class DoseSlotSerializer(serializers.ModelSerializer):
    scheduleId = serializers.UUIDField(source="schedule_id")
    patientId = serializers.UUIDField(source="patient_id")
    localDate = serializers.DateField(source="local_date")
    localTime = HourMinuteField(source="local_time")
    scheduledAt = serializers.DateTimeField(source="scheduled_at")
    windowClosesAt = serializers.DateTimeField(source="window_closes_at")
    reminderMessageId = serializers.UUIDField(source="reminder_id", allow_null=True)

    class Meta:
        model = DoseSlot
        fields = [
            "id",
            "scheduleId",
            "patientId",
            "localDate",
            "localTime",
            "scheduledAt",
            "windowClosesAt",
            "status",
            "reminderMessageId",
        ]
        read_only_fields = fields
