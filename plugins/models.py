"""Plugin registrations (who gets called for what), invocations (each call, recorded) and signing keys."""

import base64
import secrets
import uuid

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import models
from django.db.models import Q

from plugins.choices import ENTITY_TYPES as ENTITY_TYPES  # named by settings' OpenAPI enum overrides
from plugins.choices import PluginAction
from plugins.validation import registration_validate
from smsportal.crypto import EncryptedTextField


class PluginRegistration(models.Model):
    """One plugin of an organization: an HTTPS webhook `url` or a built-in Python `handler`.

    Called for the `actions` it subscribes to, for senders of the `entity_types` it serves.
    """

    class Source(models.TextChoices):
        API = "api", "Plugins API / admin"
        BIOT = "biot", "BioT subscribe call"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("entities.Organization", on_delete=models.CASCADE, related_name="plugins")
    name = models.CharField(max_length=100)
    url = models.CharField(max_length=500, blank=True, default="", help_text="HTTPS webhook URL.")
    handler = models.CharField(max_length=200, blank=True, default="", help_text="Dotted path of a built-in plugin.")
    entity_types = models.JSONField(default=list, blank=True)
    actions = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True)
    timeout_seconds = models.PositiveSmallIntegerField(default=10)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    # Standard Webhooks HMAC secret ("whsec_…"), unique per endpoint; shown once at creation.
    webhook_secret = EncryptedTextField(blank=True, default="")
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.API)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="uniq_plugin_name"),
            models.CheckConstraint(
                condition=(Q(url="") & ~Q(handler="")) | (~Q(url="") & Q(handler="")),
                name="plugin_url_xor_handler",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def kind(self) -> str:
        return "handler" if self.handler else "webhook"

    @staticmethod
    def new_webhook_secret() -> str:
        return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()

    def clean(self):
        try:
            registration_validate(
                url=self.url, handler=self.handler, entity_types=self.entity_types, actions=self.actions
            )
        except ValueError as exc:
            field, _, text = str(exc).partition(": ")
            field = {"entityTypes": "entity_types"}.get(field, field)  # the API's name → the model's
            known = field in {"url", "handler", "entity_types", "actions"}
            raise ValidationError({field if known else NON_FIELD_ERRORS: text if known else str(exc)})


class PluginInvocation(models.Model):
    """One call of one plugin for one event, with every attempt's outcome.

    pending ─task─> running ─2xx─> succeeded
                       └─non-2xx/timeout/refused─> retrying (backoff + jitter) ─> running ...
                                                   └─ attempts == max_attempts ─> failed (dead letter)
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        RETRYING = "retrying"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey("entities.Organization", on_delete=models.CASCADE, related_name="+")
    registration = models.ForeignKey(PluginRegistration, on_delete=models.CASCADE, related_name="invocations")
    action = models.CharField(max_length=20, choices=PluginAction.choices)
    # What caused it: "<action>:<message id>[:<status>]"; unique per registration → one call per event.
    event_key = models.CharField(max_length=120)
    inbound_message = models.ForeignKey(
        "messaging.InboundMessage", null=True, blank=True, on_delete=models.CASCADE, related_name="invocations"
    )
    outbound_message = models.ForeignKey(
        "messaging.OutboundMessage", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    entity_type = models.CharField(max_length=20, blank=True, default="")
    # The request body without `jwt` (plugins/payload.py); the same bytes on every attempt.
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True, default="")
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    attempt_log = models.JSONField(default=list, blank=True, help_text="Per attempt: at, status code, error, ms.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["registration", "event_key"], name="uniq_plugin_invocation_event"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status__in=["pending", "retrying"]), name="invocation_due"
            ),
            models.Index(fields=["organization", "-created_at"], name="invocation_org_created"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"

    @property
    def idempotency_key(self) -> str:
        """`webhook-id` / `Idempotency-Key`: one per invocation, the same on every retry."""
        return f"msg_{self.id.hex}"


class SigningKey(models.Model):
    """An RS512 key pair that signs plugin JWTs. The newest live key signs; JWKS lists every live key.

    Rotation (`manage.py rotate_signing_key`) adds a key and gives the old one an expiry, so tokens
    and cached JWKS documents signed with it keep verifying until then.
    """

    kid = models.CharField(max_length=64, unique=True)
    private_key_pem = EncryptedTextField()
    public_jwk = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: current. Set when rotated out.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.kid
