"""The audit trail: django-auditlog's entry, plus the organization it belongs to and the API key
that acted (when an API key did, there is no user)."""

from auditlog.models import AbstractLogEntry, LogEntryManager
from django.db import models

from entities.models import Organization

MASK = "(secret changed)"


def mask(value: str) -> str:
    """AUDITLOG_MASK_CALLABLE: a secret field records that it changed, never any part of it
    (auditlog's default mask keeps half the text)."""
    return MASK


def organization_id_of(instance):
    """The organization a tracked row belongs to: its own id for an organization, its gateway's
    for an inbound number (a global gateway's rows belong to none: superusers only)."""
    if isinstance(instance, Organization):
        return instance.pk
    if hasattr(instance, "organization_id"):
        return instance.organization_id
    gateway = getattr(instance, "gateway", None)
    return getattr(gateway, "organization_id", None)


class AuditEntryManager(LogEntryManager):
    def log_create(self, instance, force_log: bool = False, **kwargs):
        kwargs.setdefault("organization_id", organization_id_of(instance))
        return super().log_create(instance, force_log, **kwargs)

    def log_m2m_changes(self, changed_queryset, instance, operation, field_name, **kwargs):
        kwargs.setdefault("organization_id", organization_id_of(instance))
        return super().log_m2m_changes(changed_queryset, instance, operation, field_name, **kwargs)


class AuditEntry(AbstractLogEntry):
    # No database constraint and no cascade: the trail outlives a deleted organization.
    organization = models.ForeignKey(
        Organization, null=True, blank=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    api_key_prefix = models.CharField("API key", max_length=16, blank=True, default="")

    objects = AuditEntryManager()

    class Meta(AbstractLogEntry.Meta):
        verbose_name = "audit entry"
        verbose_name_plural = "audit trail"
        indexes = [models.Index(fields=["organization", "-timestamp"], name="audit_org_time")]

    @property
    def acted_by(self) -> str:
        if self.actor_id is not None:
            return str(self.actor)
        if self.api_key_prefix:
            return f"API key {self.api_key_prefix}…"
        return self.actor_email or "system"
