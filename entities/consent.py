"""Consent services: record a change (append-only), read a person's state and history.

Every write goes through `consent_record`, which checks that the person and the program belong
to the organization, appends a ConsentRecord, moves the person's current Consent and sends
`consent_changed` inside the same transaction (plugins/ turns it into `_consentChanged` calls;
entities cannot import plugins, which sit above it). docs/consent.md.
"""

import logging
import uuid

from django.db import IntegrityError, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver
from django.utils import timezone

from entities.models import (
    ENTITY_MODELS,
    Consent,
    ConsentProgram,
    ConsentRecord,
    ConsentSource,
    ConsentStatus,
    Organization,
    Person,
)
from smsportal.localcache import LocalCache

logger = logging.getLogger(__name__)

# Sent inside the transaction of each recorded change: record=ConsentRecord, person=Person,
# previous_status=str.
consent_changed = Signal()


class ConsentError(Exception):
    """Bad input for a consent change: `field` names what is wrong; nothing was saved."""

    def __init__(self, message: str, *, field: str, status_code: int = 400, code: str = "invalid"):
        super().__init__(message)
        self.message, self.field, self.status_code, self.code = message, field, status_code, code


_programs = LocalCache("consent-programs")


def programs_of(organization_id) -> tuple[ConsentProgram, ...]:
    """The organization's programs, kept per process for SMSPORTAL_LOCAL_CACHE_SECONDS (every send
    without a program asks whether its source belongs to one). Read-only."""
    return _programs.get_or_load(
        str(organization_id), lambda: tuple(ConsentProgram.objects.filter(organization_id=organization_id))
    )


def program_get(*, organization: Organization, program, field: str = "program") -> ConsentProgram:
    """A program of the organization by slug (or the instance itself, checked); else ConsentError."""
    if isinstance(program, ConsentProgram):
        if program.organization_id != organization.pk:
            raise ConsentError("unknown program", field=field, code="unknown_program")
        return program
    slug = str(program or "").strip()
    if not slug:
        raise ConsentError("this field is required", field=field, code="required")
    for candidate in programs_of(organization.pk):
        if candidate.slug == slug:
            return candidate
    raise ConsentError(f"unknown program {slug[:60]!r}", field=field, code="unknown_program")


def person_get(*, organization: Organization, entity_type: str, entity_id, field: str = "entityId") -> Person:
    """One of the organization's people; another organization's (or none) is a 404 naming `field`."""
    model = ENTITY_MODELS.get(entity_type)
    if model is None:
        raise ConsentError(f"one of {', '.join(ENTITY_MODELS)}", field="entityType")
    try:
        pk = uuid.UUID(str(entity_id))
    except ValueError:
        person = None
    else:
        person = model.objects.filter(organization=organization, pk=pk).first()
    if person is None:
        raise ConsentError(f"no {entity_type} with this id in your organization", field=field, status_code=404)
    return person


@transaction.atomic
def consent_record(
    *,
    organization: Organization,
    person: Person,
    program: ConsentProgram,
    status: str,
    source: str,
    text: str = "",
    note: str = "",
    user=None,
    api_key=None,
    actor: str = "",
    inbound_message_id=None,
    skip_unchanged: bool = False,
) -> ConsentRecord | None:
    """Append one change and move the current state. With `skip_unchanged` (SMS keywords), a status
    the person already has records nothing and returns None (no second confirmation)."""
    if person.organization_id != organization.pk:
        raise ConsentError("no such person in your organization", field="entityId", status_code=404)
    if program.organization_id != organization.pk:
        raise ConsentError("unknown program", field="program", code="unknown_program")
    if status not in ConsentStatus.values:
        raise ConsentError(f"one of {', '.join(ConsentStatus.values)}", field="status")
    if source not in ConsentSource.values:
        raise ConsentError(f"one of {', '.join(ConsentSource.values)}", field="source")
    phone = str(person.phone or "")
    key = {"program": program, "entity_type": person.entity_type, "entity_id": person.pk}
    current = Consent.objects.select_for_update().filter(**key).first()
    if current is None:
        try:
            with transaction.atomic():
                current = Consent.objects.create(organization=organization, phone_number=phone, **key)
        except IntegrityError:  # created meanwhile by a concurrent change: take its lock
            current = Consent.objects.select_for_update().get(**key)
    previous = current.status
    if skip_unchanged and previous == status:
        return None
    now = timezone.now()
    record = ConsentRecord.objects.create(
        organization=organization,
        program=program,
        entity_type=person.entity_type,
        entity_id=person.pk,
        status=status,
        source=source,
        user=user if getattr(user, "pk", None) else None,
        api_key=api_key,
        actor=(actor or _actor(user=user, api_key=api_key, source=source))[:200],
        text=text,
        note=note[:500],
        phone_number=phone,
        inbound_message_id=inbound_message_id,
        created_at=now,
    )
    Consent.objects.filter(pk=current.pk).update(status=status, last_record=record, phone_number=phone, updated_at=now)
    logger.info(
        "consent recorded",
        extra={"record": str(record.id), "program": program.slug, "status": status, "source": source},
    )
    consent_changed.send(sender=ConsentRecord, record=record, person=person, previous_status=previous)
    return record


def _actor(*, user, api_key, source: str) -> str:
    if getattr(user, "pk", None):
        return f"staff {user.get_username()}"
    if api_key is not None:
        return f"API key {api_key.name} ({api_key.prefix})"
    if source == ConsentSource.SMS:
        return "the person, by SMS keyword"
    return ConsentSource(source).label


def consent_state(*, person: Person) -> list[dict]:
    """Every program of the person's organization with the person's status ("unknown" when never
    recorded) and the last change."""
    current = {
        c.program_id: c
        for c in Consent.objects.filter(entity_type=person.entity_type, entity_id=person.pk).select_related(
            "last_record"
        )
    }
    rows = []
    for program in ConsentProgram.objects.filter(organization_id=person.organization_id):
        consent = current.get(program.pk)
        status = consent.status if consent else ConsentStatus.UNKNOWN
        rows.append(
            {
                "program": program,
                "status": status,
                "status_label": ConsentStatus(status).label,
                "updated_at": consent.updated_at if consent else None,
                "last_record": consent.last_record if consent else None,
            }
        )
    return rows


def consent_history(*, person: Person, limit: int | None = None):
    """The person's records, newest first (every change ever made)."""
    records = (
        ConsentRecord.objects.filter(
            organization_id=person.organization_id, entity_type=person.entity_type, entity_id=person.pk
        )
        .select_related("program", "user")
        .order_by("-created_at")
    )
    return records[:limit] if limit else records


def _phone_sync(sender, instance, created, **kwargs):
    """A person's new number moves their consents with them (the send path reads the copy)."""
    if created:
        return
    Consent.objects.filter(entity_type=instance.entity_type, entity_id=instance.pk).exclude(
        phone_number=str(instance.phone or "")
    ).update(phone_number=str(instance.phone or ""))


def _person_deleted(sender, instance, **kwargs):
    """A deleted person's consent no longer lets anything be sent to the number; the records stay."""
    Consent.objects.filter(entity_type=instance.entity_type, entity_id=instance.pk).delete()


for _model in ENTITY_MODELS.values():
    receiver(post_save, sender=_model, dispatch_uid=f"consent-phone-{_model.__name__}")(_phone_sync)
    receiver(post_delete, sender=_model, dispatch_uid=f"consent-delete-{_model.__name__}")(_person_deleted)
