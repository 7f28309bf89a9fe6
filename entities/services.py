"""Writes about organizations and people."""

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from entities.models import ApiKey, Caregiver, Organization, Person
from smsportal.localcache import local_caches_clear


def organization_get_or_create(*, slug: str, name: str | None = None) -> Organization:
    org, _ = Organization.objects.get_or_create(slug=slugify(slug), defaults={"name": name or slug})
    return org


@transaction.atomic
def api_key_create(*, organization: Organization, name: str = "default") -> tuple[ApiKey, str]:
    """A new API key; returns the row and the raw key (shown once, never stored)."""
    raw, prefix = ApiKey.generate()
    api_key = ApiKey.objects.create(organization=organization, name=name, prefix=prefix, key_hash=ApiKey.hash(raw))
    return api_key, raw


@transaction.atomic
@transaction.atomic
def api_keys_revoke(*, queryset) -> int:
    """Revoke the live keys among `queryset`, one save each so the audit trail records every one."""
    now, count = timezone.now(), 0
    for api_key in queryset.filter(revoked_at=None).select_for_update():
        api_key.revoked_at = now
        api_key.save(update_fields=["revoked_at"])
        count += 1
    local_caches_clear()  # at once in this process; others within SMSPORTAL_LOCAL_CACHE_SECONDS
    return count


def entity_save(*, entity: Person, fields: dict, patients: list | None = None) -> Person:
    """Apply validated fields (and a caregiver's patients) and save: all or nothing."""
    for name, value in fields.items():
        setattr(entity, name, value)
    entity.full_clean(exclude=["organization", "user", "patients"])
    entity.save()
    if patients is not None and isinstance(entity, Caregiver):
        entity.patients.set(patients)
    return entity
