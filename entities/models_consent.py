"""The consent ledger: who agreed to (or revoked) which program, when, how and by whom.

`ConsentRecord` is append-only: every change is a new row, never an edit, so a person's history
answers "who agreed to what, when, how". `Consent` is the current state per person and program
(the last record), with the person's phone number copied in: what the send path reads
(messaging/services/send_rules.py), kept in step with the person's number by a save signal.
Writes go through entities/consent.py.
"""

import re
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone

# The outbox's sources a program can cover (messaging's OutboundMessage.Source without "system":
# confirmations and HELP answers are never held back by consent; tests/consent checks they agree).
SEND_SOURCES = ("biot_api", "dhis2_api", "portal", "schedule")


class ConsentStatus(models.TextChoices):
    OPTED_IN = "opted_in", "Opted in"
    OPTED_OUT = "opted_out", "Opted out"
    UNKNOWN = "unknown", "Unknown"


class ConsentSource(models.TextChoices):
    PORTAL = "portal", "Portal staff"
    API = "api", "API"
    SMS = "sms", "SMS keyword"
    CSV_IMPORT = "csv_import", "CSV import"
    ADMIN = "admin", "Admin"


class ConsentProgram(models.Model):
    """What a person can agree to receive from an organization ("medication reminders", "general")."""

    organization = models.ForeignKey("entities.Organization", on_delete=models.CASCADE, related_name="consent_programs")
    slug = models.SlugField(max_length=50, help_text="What API calls name it by, e.g. medication-reminders.")
    name = models.CharField(max_length=100)
    keyword = models.CharField(
        max_length=30,
        blank=True,
        default="",
        help_text="One word naming the program in replies: STOP then this word opts out of it alone, "
        "YES then this word opts in to it alone.",
    )
    require_consent = models.BooleanField(
        default=False, help_text="Sends for this program go only to people who opted in."
    )
    consent_text = models.CharField(
        max_length=640,
        blank=True,
        default="",
        help_text="What a person agrees to (recorded with each opt-in by SMS keyword).",
    )
    sources = models.JSONField(
        default=list,
        blank=True,
        help_text='Sends of these sources without a program count as this program, e.g. ["schedule"] '
        "for dose reminders.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "slug"], name="uniq_consent_program_slug"),
            models.UniqueConstraint(
                fields=["organization", "keyword"], condition=~Q(keyword=""), name="uniq_consent_program_keyword"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.keyword = (self.keyword or "").strip().upper()
        super().save(*args, **kwargs)

    def clean(self):
        self.keyword = (self.keyword or "").strip().upper()
        if self.keyword and not re.fullmatch(r"\w+", self.keyword):
            raise ValidationError({"keyword": "one word (letters and digits)"})
        if not isinstance(self.sources, list) or any(s not in SEND_SOURCES for s in self.sources):
            raise ValidationError({"sources": f"a list of {', '.join(SEND_SOURCES)}"})


class Consent(models.Model):
    """The current status of one person for one program: the last record's."""

    organization = models.ForeignKey("entities.Organization", on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey(ConsentProgram, on_delete=models.CASCADE, related_name="consents")
    entity_type = models.CharField(max_length=20)
    entity_id = models.UUIDField()
    phone_number = models.CharField(max_length=16, blank=True, default="", help_text="E.164, the person's now")
    status = models.CharField(max_length=10, choices=ConsentStatus.choices, default=ConsentStatus.UNKNOWN)
    last_record = models.ForeignKey("ConsentRecord", null=True, on_delete=models.SET_NULL, related_name="+")
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["program", "entity_type", "entity_id"], name="uniq_consent_person_program")
        ]
        indexes = [
            # The send path: this organization's consents of these numbers.
            models.Index(fields=["organization", "phone_number"], name="consent_org_phone"),
            models.Index(fields=["entity_type", "entity_id"], name="consent_person"),
        ]

    def __str__(self) -> str:
        return f"{self.get_status_display()}: {self.program_id}"


class ConsentRecord(models.Model):
    """One change of a person's consent to a program. Never edited or deleted (see save/delete)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("entities.Organization", on_delete=models.CASCADE, related_name="+")
    program = models.ForeignKey(ConsentProgram, on_delete=models.PROTECT, related_name="records")
    entity_type = models.CharField(max_length=20)
    entity_id = models.UUIDField()
    status = models.CharField(max_length=10, choices=ConsentStatus.choices)
    source = models.CharField(max_length=12, choices=ConsentSource.choices)
    # By whom: a staff login, an API key, or the person themselves (SMS keyword).
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    api_key = models.ForeignKey("entities.ApiKey", null=True, blank=True, on_delete=models.SET_NULL)
    actor = models.CharField(max_length=200, blank=True, default="", help_text="Who made the change, as shown.")
    text = models.TextField(blank=True, default="", help_text="The text the person agreed to (or their words).")
    note = models.CharField(max_length=500, blank=True, default="")
    phone_number = models.CharField(max_length=16, blank=True, default="", help_text="E.164 at the time")
    inbound_message_id = models.UUIDField(null=True, blank=True, help_text="The SMS that carried the keyword.")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["entity_type", "entity_id", "-created_at"], name="consent_record_person")]

    def __str__(self) -> str:
        return f"{self.get_status_display()} ({self.get_source_display()})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError("consent records are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("consent records are append-only")
