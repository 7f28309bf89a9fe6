"""Configured provider accounts ("gateways") and the numbers they receive on."""

import secrets
import uuid

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from phonenumber_field.modelfields import PhoneNumberField

from gateways.exceptions import ConfigError
from gateways.providers import type_choices
from gateways.route_rules import route_clean
from smsportal.crypto import EncryptedJSONField

MAX_RATE_PER_SECOND = 100_000


def validate_rate(value) -> None:
    """A rate limit is more than 0 and at most MAX_RATE_PER_SECOND; the admin and the API alike."""
    if value is not None and not 0 < value <= MAX_RATE_PER_SECOND:
        raise ValidationError(f"must be more than 0 and at most {MAX_RATE_PER_SECOND:,} per second; empty: no limit")


class Gateway(models.Model):
    """One provider account of an organization (organization empty = the global fallback).

    `config` holds non-secret settings in the DHIS2 gateway JSON names (urlTemplate, username,
    parameters without their confidential values, ...). `secrets` holds everything classified,
    encrypted at rest; no API ever returns it.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "entities.Organization", null=True, blank=True, on_delete=models.CASCADE, related_name="gateways"
    )
    name = models.CharField(max_length=100)
    # The provider: one registered adapter (gateways/providers/), which also names it.
    type = models.CharField(max_length=20, choices=type_choices)
    config = models.JSONField(default=dict, blank=True)
    secrets = EncryptedJSONField(blank=True, default=dict)
    is_default = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    fallback = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Used when this gateway fails transiently past its retries or is marked down.",
    )
    rate_limit_per_second = models.FloatField(
        null=True,
        blank=True,
        validators=[validate_rate],
        help_text="Messages/s across all workers (segments/s for providers that count segments). Empty: no limit.",
    )
    sender_rate_limit_per_second = models.FloatField(
        null=True,
        blank=True,
        validators=[validate_rate],
        help_text="Per sender number: messages/s (segments/s where the provider counts segments), e.g. 1 for a "
        "US long code.",
    )
    max_sms_length = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="The longest message text, in characters, sent through this gateway; a longer send is "
        "refused with a 400 naming the field. Empty: the sending API's own limit.",
    )
    down_until = models.DateTimeField(null=True, blank=True)
    # Pull-mode gateways (a phone polls us): the last poll; none for N minutes marks the gateway down.
    last_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Transient failures in a row; at SMSPORTAL_GATEWAY_DOWN_AFTER the gateway is marked down (gateways/routing.py).
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization"], condition=Q(is_default=True), name="uniq_default_gateway_per_org"
            ),
            # NULLs are distinct in the constraint above: one global default needs its own.
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True, organization__isnull=True),
                name="uniq_default_global_gateway",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_type_display()})"

    @property
    def uid(self) -> str:
        return str(self.id)

    def webhook_tokens(self) -> list[str]:
        """The valid webhook secrets, newest first (two during a rotation)."""
        return list(self.secrets.get("webhookTokens") or [])

    def ensure_webhook_token(self) -> str:
        tokens = self.webhook_tokens()
        if not tokens:
            tokens = [secrets.token_urlsafe(24)]
            self.secrets = {**self.secrets, "webhookTokens": tokens}
        return tokens[0]


class InboundNumber(models.Model):
    """A number a gateway receives replies on; sends to its country go out from it.

    On a global gateway a superuser may assign a number to one organization (BioT: a static local
    number per country and customer): only that organization sends from it, and every reply to it
    is that organization's. Unassigned numbers are shared (docs/gateways.md, "Replies on a global
    gateway").
    """

    gateway = models.ForeignKey(Gateway, on_delete=models.CASCADE, related_name="inbound_numbers")
    number = PhoneNumberField()
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2, derived from the number.")
    organization = models.ForeignKey(
        "entities.Organization",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Global gateways only: the organization this number belongs to (empty = shared).",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["gateway", "number"], name="uniq_gateway_inbound_number")]

    def __str__(self) -> str:
        return str(self.number)


class ParkedStatus(models.Model):
    """A delivery report that arrived before its message's provider id was recorded.

    Fast providers report before the sending worker has saved the id the provider returned;
    the report is kept here and applied when the id is recorded (gateways/parking.py).
    """

    gateway = models.ForeignKey(Gateway, on_delete=models.CASCADE, related_name="+")
    provider_message_id = models.CharField(max_length=128)
    status = models.CharField(max_length=12)
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_text = models.CharField(max_length=300, blank=True, default="")
    occurred_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["gateway", "provider_message_id"], name="parked_status_lookup")]

    def __str__(self) -> str:
        return f"{self.provider_message_id} → {self.status}"


class GatewayRoute(models.Model):
    """An organization's route by destination prefix: the longest matching prefix picks the gateway.

    The `*` route is the organization's default gateway (DHIS2's, `PUT /api/gateways/default/{uid}`),
    so it is not stored here (gateways/route_selectors.py).
    """

    organization = models.ForeignKey("entities.Organization", on_delete=models.CASCADE, related_name="gateway_routes")
    prefix = models.CharField(max_length=16, help_text="'+' and 1 to 15 digits, e.g. +254 or +1.")
    gateway = models.ForeignKey(Gateway, on_delete=models.CASCADE, related_name="+")
    fallback = models.ForeignKey(
        Gateway,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Used for this route when its gateway is down or fails past its retries (else the gateway's own).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["prefix"]
        constraints = [models.UniqueConstraint(fields=["organization", "prefix"], name="uniq_gateway_route_prefix")]

    def __str__(self) -> str:
        return f"{self.prefix} → {self.gateway_id}"

    def clean(self):
        try:
            route_clean(self)
        except ConfigError as exc:
            raise ValidationError({exc.field: str(exc)})
