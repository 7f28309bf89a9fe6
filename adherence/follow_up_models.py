"""Follow-up items: a patient who missed doses in a row or stopped replying becomes a staff task.

open ─outcome recorded (called, visited, note)─> open ─close─> closed ─reopen─> open
Every step is a FollowUpEvent, so the person's history keeps who did what, when.
At most one open item per patient and reason (a partial unique constraint): two beats or
workers detecting the same misses open it once.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q


class FollowUp(models.Model):
    class Reason(models.TextChoices):
        MISSED_DOSES = "missed_doses", "Missed doses in a row"
        SILENT = "silent", "Stopped replying"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class Outcome(models.TextChoices):
        REACHED = "reached", "Called — reached"
        NOT_REACHED = "not_reached", "Called — not reached"
        VISITED = "visited", "Visited"
        NOTE = "note", "Note"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("entities.Organization", on_delete=models.CASCADE, related_name="+")
    patient = models.ForeignKey("entities.Patient", on_delete=models.CASCADE, related_name="follow_ups")
    schedule = models.ForeignKey(
        "adherence.MedicationSchedule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    assigned_to = models.ForeignKey(
        "entities.OrganizationUser", null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    # What put the patient on the list: {"missedDoses": 2, "medication": …} or {"silentDays": 3, "lastReplyAt": …}.
    detail = models.JSONField(default=dict, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, blank=True, default="")
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "reason"], condition=Q(status="open"), name="uniq_open_follow_up"
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "-opened_at"], name="follow_up_org_status"),
            models.Index(fields=["organization", "closed_at"], name="follow_up_org_closed"),
        ]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} ({self.status})"


class FollowUpEvent(models.Model):
    """One step of a follow-up item: the person's history (opened, assigned, outcome, closed, reopened)."""

    class Kind(models.TextChoices):
        OPENED = "opened", "Opened"
        ASSIGNED = "assigned", "Assigned"
        OUTCOME = "outcome", "Outcome recorded"
        CLOSED = "closed", "Closed"
        REOPENED = "reopened", "Reopened"

    id = models.BigAutoField(primary_key=True)
    organization = models.ForeignKey("entities.Organization", on_delete=models.CASCADE, related_name="+")
    follow_up = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="events")
    patient = models.ForeignKey("entities.Patient", on_delete=models.CASCADE, related_name="follow_up_events")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    outcome = models.CharField(max_length=12, choices=FollowUp.Outcome.choices, blank=True, default="")
    note = models.TextField(blank=True, default="")
    assigned_to = models.ForeignKey(
        "entities.OrganizationUser", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["patient", "-at"], name="follow_up_event_patient")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%Y-%m-%d %H:%M}"
