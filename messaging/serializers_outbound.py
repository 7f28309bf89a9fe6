"""Request and response shapes of the two send APIs (BioT and DHIS2). Validation and shape only."""

import copy

from django.utils import timezone
from rest_framework import serializers

from messaging.models import OutboundMessage
from smsportal.dhis2 import dhis2_time
from smsportal.phones import InvalidPhoneNumber, to_e164
from smsportal.serializer_fields import StrictCharField

Status = OutboundMessage.Status


class ValidUntilField(serializers.DateTimeField):
    """`validUntil`: an ISO 8601 time in the future; not handed to a provider by then → expired."""

    default_error_messages = {"past": "must be in the future", "invalid": "must be an ISO 8601 date and time"}

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("input_formats", ["iso-8601"])
        kwargs.setdefault(
            "help_text",
            "ISO 8601, in the future. Not handed to a provider by then, the message becomes `expired` and is "
            "never sent late. Default: 24 h after acceptance (settings).",
        )
        super().__init__(**kwargs)

    def to_internal_value(self, value):
        if not isinstance(value, str):
            self.fail("invalid")
        parsed = super().to_internal_value(value)
        if parsed <= timezone.now():
            self.fail("past")
        return parsed


def valid_until_parse(value):
    """The query form's `validUntil` (a string or None) → datetime, or ValidationError naming the field."""
    if value in (None, ""):
        return None
    field = ValidUntilField()
    try:
        return field.run_validation(value)
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({"validUntil": exc.detail})


# ---------------------------------------------------------------------------------------------
# BioT: POST /notification/v1/sms/send


class FlatInputSerializer(serializers.Serializer):
    """A serializer of plain scalar fields, cloned cheaply per request.

    DRF deep-copies every declared field for each serializer instance, which re-runs each field's
    constructor (its validators included): a tenth of a single send's CPU. Scalar fields hold no
    per-request state before binding, so a shallow copy, bound to this instance, is as isolated.
    """

    def get_fields(self):
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}


class SmsSendInputSerializer(FlatInputSerializer):
    message = StrictCharField(trim_whitespace=False, help_text="The text; GSM-7 or UCS-2, segment-limited.")
    phoneNumber = StrictCharField(  # noqa: N815 — BioT's wire name
        max_length=32, help_text="Full international format, e.g. +12025550123."
    )
    validUntil = ValidUntilField()  # noqa: N815
    program = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=50,
        help_text="smsportal extension: the consent program (slug) the message belongs to; a program that "
        "requires consent refuses recipients who have not opted in (docs/consent.md).",
    )

    def __init__(self, *args, region: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.region = region

    def validate_phoneNumber(self, value):  # noqa: N802
        try:
            # BioT: "Phone numbers must be entered in full format" — no national-format guessing.
            return to_e164(value, strict=True)
        except InvalidPhoneNumber as exc:
            raise serializers.ValidationError(str(exc))


class SmsSendOutputSerializer(serializers.Serializer):
    messageId = serializers.UUIDField(help_text="Our message id; replies are linked to it.")  # noqa: N815


# ---------------------------------------------------------------------------------------------
# DHIS2: /api/sms/outbound

# Our status → DHIS2's OutboundSmsStatus.
DHIS2_STATUS = {
    Status.QUEUED: "PENDING",
    Status.SENDING: "OUTBOUND",
    Status.UNKNOWN: "OUTBOUND",
    Status.SENT: "SENT",
    Status.DELIVERED: "DELIVERED",
    Status.UNDELIVERED: "FAILED",
    Status.FAILED: "FAILED",
    Status.EXPIRED: "FAILED",
}
DHIS2_STATUS_NAMES = ["OUTBOUND", "PENDING", "SCHEDULED", "SENT", "DELIVERED", "FAILED", "ERROR"]


def our_statuses(dhis2_status: str) -> list[str]:
    return [ours for ours, theirs in DHIS2_STATUS.items() if theirs == dhis2_status]


class Dhis2OutboundInputSerializer(serializers.Serializer):
    """The JSON form. Unknown keys are ignored, as DHIS2 does."""

    message = StrictCharField(required=False, allow_blank=True, trim_whitespace=False)
    recipients = serializers.ListField(
        child=StrictCharField(max_length=40, allow_blank=True),
        required=False,
        allow_empty=True,
        help_text="Numbers in international format; a leading 00 means +. Duplicates collapse.",
    )
    subject = StrictCharField(required=False, allow_blank=True, max_length=200)
    validUntil = ValidUntilField()  # noqa: N815
    program = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=50,
        help_text="smsportal extension: the consent program (slug); recipients it may not reach are refused "
        "with the reason (docs/consent.md).",
    )

    def validate_recipients(self, value):
        from django.conf import settings

        if len(value) > settings.SMSPORTAL_MAX_RECIPIENTS:
            raise serializers.ValidationError(
                f"at most {settings.SMSPORTAL_MAX_RECIPIENTS} recipients per request (got {len(value)})"
            )
        return value


def outbound_dhis2_representation(message: OutboundMessage) -> dict:
    """An OutboundSms as DHIS2 renders it, with our finer status and reason beside its status."""
    return {
        "id": str(message.id),
        "displayName": message.subject or str(message.id),
        "created": dhis2_time(message.created_at),
        "lastUpdated": dhis2_time(message.updated_at),
        "sender": message.sender,
        "recipients": [message.recipient],
        "date": dhis2_time(message.sent_at or message.created_at),
        "subject": message.subject,
        "message": message.body,
        "status": DHIS2_STATUS[message.status],
        "deliveryStatus": message.status,
        "errorReason": message.error_reason,
        "gatewayResponse": message.result_code,
        "encoding": message.encoding,
        "segments": message.segments,
        "batchId": str(message.batch_id) if message.batch_id else None,
        "heldUntil": dhis2_time(message.held_until()),
        "routeHistory": message.route_history or [],
        "validUntil": dhis2_time(message.valid_until) if message.valid_until else None,
    }


class Dhis2OutboundSmsSerializer(serializers.Serializer):
    """Documentation of one OutboundSms (GET /api/sms/outbound/{id}; `fields` selects keys in lists)."""

    id = serializers.UUIDField()
    displayName = serializers.CharField()  # noqa: N815
    created = serializers.CharField(help_text="ISO 8601 UTC, 2024-05-01T10:00:00.000Z")
    lastUpdated = serializers.CharField()  # noqa: N815
    sender = serializers.CharField()
    recipients = serializers.ListField(child=serializers.CharField())
    date = serializers.CharField()
    subject = serializers.CharField()
    message = serializers.CharField()
    status = serializers.ChoiceField(choices=DHIS2_STATUS_NAMES)
    deliveryStatus = serializers.ChoiceField(choices=Status.choices, help_text="smsportal's finer status")  # noqa: N815
    errorReason = serializers.CharField()  # noqa: N815
    gatewayResponse = serializers.CharField(help_text="DHIS2 GatewayResponse name, e.g. RESULT_CODE_0")  # noqa: N815
    encoding = serializers.ChoiceField(choices=OutboundMessage.Encoding.choices)
    segments = serializers.IntegerField()
    batchId = serializers.UUIDField(allow_null=True)  # noqa: N815
    heldUntil = serializers.CharField(  # noqa: N815
        allow_null=True, help_text="A queued message held back (quiet hours, retry backoff): when it goes; else null"
    )
    routeHistory = serializers.ListField(  # noqa: N815
        child=serializers.DictField(),
        help_text="Gateways that gave up on it before the current one (failover): at, gateway, gatewayName, reason",
    )
    validUntil = serializers.CharField(allow_null=True, help_text="Not sent after this; then `expired`.")  # noqa: N815


OUTBOUND_FIELDS = list(Dhis2OutboundSmsSerializer().fields)


class PagerSerializer(serializers.Serializer):
    page = serializers.IntegerField()
    pageCount = serializers.IntegerField()  # noqa: N815
    total = serializers.IntegerField()
    pageSize = serializers.IntegerField()  # noqa: N815


class Dhis2OutboundListSerializer(serializers.Serializer):
    pager = PagerSerializer(required=False, help_text="absent with paging=false")
    outboundsmss = Dhis2OutboundSmsSerializer(many=True)


class QueuedRecipientSerializer(serializers.Serializer):
    id = serializers.UUIDField(help_text="The message id (DHIS2 uid) of this recipient's SMS")
    recipient = serializers.CharField(help_text="E.164")
    status = serializers.ChoiceField(choices=Status.choices)


class RefusedRecipientSerializer(serializers.Serializer):
    recipient = serializers.CharField(help_text="As given")
    reason = serializers.CharField()
    id = serializers.UUIDField(required=False, help_text="Present when a failed row was stored (opted out)")


class Dhis2SendResponseSerializer(serializers.Serializer):
    batchId = serializers.UUIDField()  # noqa: N815
    total = serializers.IntegerField()
    queued = serializers.IntegerField()
    messages = QueuedRecipientSerializer(many=True)
    refused = RefusedRecipientSerializer(many=True)


class WebMessageSerializer(serializers.Serializer):
    """DHIS2's reply envelope (null keys omitted; HTTP status = httpStatusCode)."""

    httpStatus = serializers.CharField()  # noqa: N815
    httpStatusCode = serializers.IntegerField()  # noqa: N815
    status = serializers.ChoiceField(choices=["OK", "WARNING", "ERROR"])
    message = serializers.CharField()
    devMessage = serializers.CharField(required=False)  # noqa: N815
    errorCode = serializers.CharField(required=False)  # noqa: N815
    response = serializers.DictField(required=False)


class Dhis2SendWebMessageSerializer(WebMessageSerializer):
    response = Dhis2SendResponseSerializer()
