"""Medication adherence: schedules, the dose slots they produce, and confirmations.

A dose slot is one dose of one schedule on one local day (unique per schedule, local date and
time). Reminders, confirmations and missed detection all move a slot forward with conditional
UPDATEs, so two beats or workers never send the same reminder twice.

scheduled ─reminder queued─> reminded ─confirming reply in window─> taken (on time)
    │                            └─window closed─> missed ─confirming reply later─> late
    └─window closed, no reminder sent (beat down)─> missed
"""

import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from adherence.schedule import schedule_validate
from entities.models import Patient
from messaging.message_templates import PLACEHOLDERS, TemplateKind

DEFAULT_CONFIRM_REPLIES = ["1", "Medication Taken"]
DEFAULT_FOLLOW_UP_MISSED = 2
DEFAULT_FOLLOW_UP_SILENT_DAYS = 3


def default_days():
    return [0, 1, 2, 3, 4, 5, 6]


def default_confirm_replies():
    return list(DEFAULT_CONFIRM_REPLIES)


def default_reminder_texts():
    return {}


class MedicationSchedule(models.Model):
    """When one patient takes one medication, and how we remind and follow up."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("entities.Organization", on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey("entities.Patient", on_delete=models.CASCADE, related_name="medication_schedules")
    medication = models.CharField(max_length=200)
    dose_times = models.JSONField(default=list, help_text='Local times of day, "HH:MM", e.g. ["08:00", "20:00"].')
    days_of_week = models.JSONField(default=default_days, help_text="0 = Monday … 6 = Sunday.")
    start_date = models.DateField()
    end_date = models.DateField(null=True, blank=True)
    timezone = models.CharField(max_length=64, default="UTC", help_text="The patient's IANA time zone.")
    reminder_texts = models.JSONField(
        default=default_reminder_texts,
        blank=True,
        help_text='This schedule\'s own reminder per locale ("en", "es", "fr-ca" …); a language without one '
        "uses the organization's template. Chosen at send time by the patient's locale. Placeholders: "
        + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS[TemplateKind.REMINDER]),
    )
    confirm_replies = models.JSONField(
        default=default_confirm_replies, help_text="Replies that confirm a dose (case- and space-insensitive)."
    )
    response_window_minutes = models.PositiveIntegerField(default=60)
    alert_caregivers = models.BooleanField(default=True, help_text="SMS the patient's caregivers on a missed dose.")
    caregiver_alert_text = models.CharField(
        max_length=320,
        blank=True,
        default="",
        help_text="Empty: the organization's caregiver template in each caregiver's language. "
        "A text here is sent to every caregiver whatever their language.",
    )
    follow_up_missed_doses = models.PositiveSmallIntegerField(
        default=DEFAULT_FOLLOW_UP_MISSED,
        help_text="Put the patient on the Follow up list after this many missed doses in a row (0: never).",
    )
    follow_up_silent_days = models.PositiveSmallIntegerField(
        default=DEFAULT_FOLLOW_UP_SILENT_DAYS,
        help_text="… or after this many days of reminders without any reply (0: never).",
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # What staff set on a schedule (the portal's form, the admin's import/export), in form order.
    SETTINGS = (
        "medication",
        "dose_times",
        "days_of_week",
        "start_date",
        "end_date",
        "timezone",
        "reminder_texts",
        "confirm_replies",
        "response_window_minutes",
        "alert_caregivers",
        "caregiver_alert_text",
        "active",
    )

    class Meta:
        ordering = ["patient__last_name", "medication"]
        indexes = [models.Index(fields=["organization", "active"], name="schedule_org_active")]

    def __str__(self) -> str:
        return f"{self.medication} ({', '.join(self.dose_times or [])})"

    def clean(self):
        if self.patient_id and self.organization_id and self.patient.organization_id != self.organization_id:
            raise ValidationError({"patient": "the patient belongs to another organization"})
        schedule_validate(self)


class DoseSlot(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Pending"
        REMINDED = "reminded", "Reminded"
        TAKEN = "taken", "Taken on time"
        LATE = "late", "Taken late"
        MISSED = "missed", "Missed"

    OPEN = (Status.SCHEDULED, Status.REMINDED)

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey("entities.Organization", on_delete=models.CASCADE, related_name="+")
    schedule = models.ForeignKey(MedicationSchedule, on_delete=models.CASCADE, related_name="slots")
    patient = models.ForeignKey("entities.Patient", on_delete=models.CASCADE, related_name="dose_slots")
    local_date = models.DateField(help_text="The day in the patient's time zone.")
    local_time = models.TimeField()
    scheduled_at = models.DateTimeField(help_text="The dose time in UTC.")
    window_closes_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    reminder = models.ForeignKey(
        "messaging.OutboundMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reminded_at = models.DateTimeField(null=True, blank=True)
    missed_at = models.DateTimeField(null=True, blank=True)
    caregivers_alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["scheduled_at"]
        constraints = [
            # The dose slot is the unit of "once": two beats creating it collide here.
            models.UniqueConstraint(fields=["schedule", "local_date", "local_time"], name="uniq_dose_slot"),
        ]
        indexes = [
            # Covers the dashboard's GROUP BYs (day x status, patient x status) without table reads.
            models.Index(fields=["organization", "local_date", "status", "patient"], name="slot_org_date_status"),
            models.Index(fields=["scheduled_at"], condition=Q(status="scheduled"), name="slot_due"),
            models.Index(fields=["window_closes_at"], condition=Q(status="reminded"), name="slot_open"),
            models.Index(fields=["patient", "-scheduled_at"], name="slot_patient"),
            models.Index(fields=["reminder"], name="slot_reminder"),
        ]

    def __str__(self) -> str:
        return f"{self.local_date} {self.local_time:%H:%M} ({self.status})"


class DoseConfirmation(models.Model):
    """A reply that confirmed a dose: one per slot."""

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey("entities.Organization", on_delete=models.CASCADE, related_name="+")
    slot = models.OneToOneField(DoseSlot, on_delete=models.CASCADE, related_name="confirmation")
    patient = models.ForeignKey("entities.Patient", on_delete=models.CASCADE, related_name="dose_confirmations")
    inbound_message = models.ForeignKey(
        "messaging.InboundMessage", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reply = models.CharField(max_length=200)
    received_at = models.DateTimeField()
    on_time = models.BooleanField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["organization", "received_at"], name="confirmation_org_received")]

    def __str__(self) -> str:
        return f"confirmation {self.pk} ({'on time' if self.on_time else 'late'})"


class PatientRoster(Patient):
    """Patients with their caregivers, as the admin imports and exports them (CSV/XLSX)."""

    class Meta:
        proxy = True
        verbose_name = "patient import/export"
        verbose_name_plural = "patients import/export"


from adherence.follow_up_models import FollowUp as FollowUp  # noqa: E402  (its own module)
from adherence.follow_up_models import FollowUpEvent as FollowUpEvent  # noqa: E402
