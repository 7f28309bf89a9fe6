"""The bodies of plugin calls: BioT's `_incomingSms` payload field for field, `_smsStatus`, and the
entity events (`_consentChanged`, `_followUpOpened`) in the same envelope (docs/plugins.md, "The call")."""

import time
from datetime import UTC, datetime

from entities.serializers import entity_biot_representation
from smsportal.tracing import traceparent


def iso_ns(value: datetime | int) -> str:
    """BioT's timestamps with nanoseconds: 2023-11-25T12:27:47.279660728Z."""
    if isinstance(value, int):
        seconds, nanos = divmod(value, 1_000_000_000)
        dt = datetime.fromtimestamp(seconds, tz=UTC)
    else:
        dt = value.astimezone(UTC)
        nanos = dt.microsecond * 1000
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def _metadata(*, entity_type, action, start, trace_id, span_id, subject_id, source_ip) -> dict:
    return {
        "entityTypeName": entity_type,
        "actionName": action,
        "status": "SUCCESS",
        "startTime": iso_ns(start),
        "endTime": iso_ns(time.time_ns()),
        "traceId": traceparent(trace_id, span_id),
        "initiator": {"subject": {"id": subject_id}, "sourceIpAddress": source_ip},
    }


def incoming_sms_payload(*, message, entity, span_id: str) -> dict:
    """BioT's shape: metadata, data.entity, data.additionalData.metadata. `jwt` is added per attempt."""
    reply_to = message.in_reply_to
    return {
        "metadata": _metadata(
            entity_type=entity.entity_type,
            action="_incomingSms",
            start=message.created_at,
            trace_id=message.trace_id,
            span_id=span_id,
            subject_id=message.originator,
            source_ip=message.source_ip,
        ),
        "data": {
            "entity": entity_biot_representation(entity),
            "additionalData": {
                "metadata": {
                    "originationNumber": message.originator,
                    "destinationNumber": message.recipient or None,
                    "messageBody": message.text,
                    "inboundMessageId": str(reply_to.id) if reply_to else None,
                    "previousPublishedMessageId": message.previous_published_message_id or None,
                }
            },
        },
    }


def sms_status_payload(*, message, entity, previous_status: str, trace_id: str, span_id: str) -> dict:
    """Our `_smsStatus` extension: the same envelope; data.additionalData.metadata describes the report."""
    return {
        "metadata": _metadata(
            entity_type=entity.entity_type if entity else None,
            action="_smsStatus",
            start=message.updated_at,
            trace_id=trace_id,
            span_id=span_id,
            subject_id=message.recipient,
            source_ip=None,
        ),
        "data": {
            "entity": entity_biot_representation(entity) if entity else None,
            "additionalData": {
                "metadata": {
                    "messageId": str(message.id),
                    "phoneNumber": message.recipient,
                    "status": message.status,
                    "previousStatus": previous_status,
                    "providerMessageId": message.provider_message_id,
                    "errorCode": message.provider_error_code or None,
                    "errorReason": message.error_reason or None,
                }
            },
        },
    }


def consent_changed_additional(*, record, previous_status: str) -> dict:
    """Our `_consentChanged` extension's data.additionalData: the ledger record (docs/plugins.md)."""
    program = record.program
    return {
        "metadata": {
            "recordId": str(record.id),
            "program": {"slug": program.slug, "name": program.name, "requireConsent": program.require_consent},
            "status": record.status,
            "previousStatus": previous_status,
            "source": record.source,
            "actor": record.actor,
            "text": record.text,
            "note": record.note,
            "phoneNumber": record.phone_number or None,
            "inboundMessageId": str(record.inbound_message_id) if record.inbound_message_id else None,
            "time": iso_ns(record.created_at),
        }
    }


def entity_event_payload(
    *,
    entity,
    action: str,
    start: datetime,
    additional: dict,
    trace_id: str,
    span_id: str,
    subject_id: str | None = None,
) -> dict:
    """An event about a person (not a message): the same envelope, `data.additionalData` holding
    what the action reports (`metadata` for `_consentChanged`, `followUp` for `_followUpOpened`)."""
    return {
        "metadata": _metadata(
            entity_type=entity.entity_type,
            action=action,
            start=start,
            trace_id=trace_id,
            span_id=span_id,
            subject_id=subject_id or str(entity.pk),
            source_ip=None,
        ),
        "data": {"entity": entity_biot_representation(entity), "additionalData": additional},
    }
