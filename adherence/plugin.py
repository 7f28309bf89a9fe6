"""The built-in medication plugin: BioT's `_incomingSms` payload in, a dose confirmation out.

Registered per organization as a built-in plugin (handler = HANDLER) for entity type `patient`
and action `_incomingSms`. A reply that confirms nothing stays an ordinary conversation message.
"""

import logging
import uuid
from datetime import UTC, datetime

from django.utils import timezone

from adherence.services import dose_reply_record
from entities.models import Patient
from messaging.models import InboundMessage
from plugins.builtin import builtin_plugin
from plugins.models import PluginRegistration

logger = logging.getLogger(__name__)

HANDLER = "adherence.plugin.handle_incoming_sms"
PLUGIN_NAME = "Medication adherence (built-in)"


def parse_biot_time(value) -> datetime | None:
    """BioT's nanosecond ISO time ("2023-11-25T12:27:47.279660728Z") as an aware datetime."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().replace("Z", "+00:00")
    head, sep, rest = text.partition(".")
    if sep:
        digits = "".join(c for c in rest if c.isdigit())
        tail = rest[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{tail}"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@builtin_plugin
def handle_incoming_sms(*, payload: dict, invocation) -> dict:
    """Record the dose a patient's reply confirms. Returns what happened.

    Called by plugins/runner.py as `handler(payload=..., invocation=...)` inside the invocation's task.
    """
    inbound_message = invocation.inbound_message
    metadata = payload.get("metadata") or {}
    data = payload.get("data") or {}
    entity = data.get("entity") or {}
    sms = (data.get("additionalData") or {}).get("metadata") or {}
    if metadata.get("entityTypeName") != "patient" or metadata.get("actionName", "_incomingSms") != "_incomingSms":
        return {"confirmed": False, "reason": "not a patient's incoming SMS"}
    # The invocation's organization (the runner checked the registration and the message belong to
    # it), never one named in the payload.
    organization_id = invocation.organization_id
    patient = Patient.objects.filter(pk=entity.get("_id"), organization_id=organization_id).first()
    if patient is None:
        return {"confirmed": False, "reason": "unknown patient"}
    if inbound_message is None:
        inbound_message = _inbound_message_for(patient=patient, sms=sms)
    received_at = (
        getattr(inbound_message, "received_at", None) or parse_biot_time(metadata.get("startTime")) or timezone.now()
    )
    confirmation = dose_reply_record(
        organization=patient.organization,
        patient=patient,
        text=sms.get("messageBody") or "",
        received_at=received_at,
        reminder_message_id=_uuid_or_none(sms.get("inboundMessageId")),
        inbound_message=inbound_message,
    )
    if confirmation is None:
        return {"confirmed": False, "reason": "not a confirmation of an open dose"}
    logger.info("dose confirmed", extra={"slot": confirmation.slot_id, "on_time": confirmation.on_time})
    return {"confirmed": True, "slotId": confirmation.slot_id, "onTime": confirmation.on_time}


def _uuid_or_none(value):
    try:
        return uuid.UUID(str(value)) if value else None
    except ValueError:
        return None


def _inbound_message_for(*, patient, sms: dict):
    """The stored inbound message the payload describes (same organization, sender and text)."""
    if not sms.get("originationNumber"):
        return None
    return (
        InboundMessage.objects.filter(
            organization_id=patient.organization_id,
            originator=sms["originationNumber"],
            text=sms.get("messageBody", ""),
        )
        .order_by("-received_at")
        .first()
    )


def plugin_install(*, organization):
    """Register the built-in plugin for the organization (idempotent)."""
    existing = PluginRegistration.objects.filter(organization=organization, handler=HANDLER).first()
    if existing is not None:
        return existing
    return PluginRegistration.objects.create(
        organization=organization,
        name=PLUGIN_NAME,
        handler=HANDLER,
        entity_types=["patient"],
        actions=["_incomingSms"],
        enabled=True,
    )


def plugin_installed(*, organization) -> bool:
    return PluginRegistration.objects.filter(organization=organization, handler=HANDLER, enabled=True).exists()
