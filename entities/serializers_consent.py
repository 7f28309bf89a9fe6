"""The consent API's shapes (docs/api.md, "Consent"): programs, a person's consent, ledger records."""

from rest_framework import serializers

from entities.models import ConsentProgram, ConsentRecord, ConsentStatus
from entities.models_consent import SEND_SOURCES
from smsportal.serializer_fields import StrictCharField


def _time(value):
    return value.isoformat().replace("+00:00", "Z") if value else None


class ConsentProgramSerializer(serializers.ModelSerializer):
    requireConsent = serializers.BooleanField(source="require_consent", required=False)  # noqa: N815
    consentText = StrictCharField(  # noqa: N815
        source="consent_text", required=False, allow_blank=True, max_length=640
    )
    sources = serializers.ListField(
        child=serializers.ChoiceField(choices=SEND_SOURCES),
        required=False,
        help_text="Sends of these sources without a program count as this program.",
    )
    keyword = serializers.RegexField(
        r"^\w+$", required=False, allow_blank=True, max_length=30, help_text="One word: STOP <KEYWORD>, YES <KEYWORD>."
    )
    createdAt = serializers.DateTimeField(source="created_at", read_only=True)  # noqa: N815

    class Meta:
        model = ConsentProgram
        fields = ["id", "slug", "name", "keyword", "requireConsent", "consentText", "sources", "createdAt"]
        read_only_fields = ["id"]
        validators = []  # the (organization, slug/keyword) uniqueness is checked by the view, naming the field

    def validate_keyword(self, value):
        return value.strip().upper()


class ConsentRecordSerializer(serializers.Serializer):
    """One ledger entry: who agreed to (or revoked) what, when and how."""

    id = serializers.UUIDField()
    program = serializers.CharField(source="program.slug")
    entityType = serializers.CharField(source="entity_type")  # noqa: N815
    entityId = serializers.UUIDField(source="entity_id")  # noqa: N815
    status = serializers.ChoiceField(choices=ConsentStatus.values)
    source = serializers.CharField()
    actor = serializers.CharField(help_text="Who recorded it: a staff login, an API key, or the person by SMS.")
    text = serializers.CharField(help_text="The text the person agreed to (or their own words).")
    note = serializers.CharField()
    phoneNumber = serializers.CharField(source="phone_number", help_text="The person's number at the time.")  # noqa: N815
    inboundMessageId = serializers.UUIDField(source="inbound_message_id", allow_null=True)  # noqa: N815
    createdAt = serializers.SerializerMethodField()  # noqa: N815

    def get_createdAt(self, record: ConsentRecord) -> str:  # noqa: N802
        return _time(record.created_at)


class ConsentStateSerializer(serializers.Serializer):
    program = serializers.CharField()
    programName = serializers.CharField()  # noqa: N815
    requireConsent = serializers.BooleanField()  # noqa: N815
    status = serializers.ChoiceField(choices=ConsentStatus.values)
    updatedAt = serializers.DateTimeField(allow_null=True)  # noqa: N815


class PersonConsentSerializer(serializers.Serializer):
    entityType = serializers.CharField()  # noqa: N815
    entityId = serializers.UUIDField()  # noqa: N815
    consents = ConsentStateSerializer(many=True, help_text="Every program of the organization.")
    history = ConsentRecordSerializer(many=True, help_text="Every change, newest first.")


class ConsentChangeSerializer(serializers.Serializer):
    """A consent change recorded over the API (source `api`)."""

    program = StrictCharField(max_length=50, help_text="The program's slug.")
    status = serializers.ChoiceField(choices=ConsentStatus.values)
    text = StrictCharField(
        required=False, allow_blank=True, max_length=2000, help_text="The text the person agreed to."
    )
    note = StrictCharField(required=False, allow_blank=True, max_length=500)


def person_consent_representation(*, person, state: list[dict], history) -> dict:
    return {
        "entityType": person.entity_type,
        "entityId": str(person.pk),
        "consents": [
            {
                "program": row["program"].slug,
                "programName": row["program"].name,
                "requireConsent": row["program"].require_consent,
                "status": row["status"],
                "updatedAt": _time(row["updated_at"]),
            }
            for row in state
        ],
        "history": ConsentRecordSerializer(history, many=True).data,
    }
