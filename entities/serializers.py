"""BioT's entity representation (`data.entity`), read and written.

`entity_biot_representation` renders a patient, caregiver or organization user exactly as BioT's
`_incomingSms` plugin payload carries it; the entity APIs (/api/v1/...) and the plugin payload
both use it. `EntityInputSerializer` reads the same shape back for create and update.
"""

import uuid
from datetime import UTC, datetime

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from entities.models import Caregiver, EntityType, Organization, Patient, Person
from mfa.services import mfa_enabled
from smsportal.locales import validate_locale
from smsportal.phones import InvalidPhoneNumber, to_e164
from smsportal.serializer_fields import StrictCharField

# Stable template ids per entity type (BioT templates are per deployment; ours are fixed).
_TEMPLATE_NAMESPACE = uuid.UUID("6f1d7c3e-2b4a-4c55-9a8e-5d0e1b7f9c21")
TEMPLATES = {
    EntityType.PATIENT: ("patient", "Patient"),
    EntityType.ORGANIZATION_USER: ("organization-user", "Organization User"),
    EntityType.CAREGIVER: ("caregiver", "Caregiver"),
}


def template_id(entity_type: str) -> str:
    return str(uuid.uuid5(_TEMPLATE_NAMESPACE, entity_type))


def _time(value: datetime | None) -> str | None:
    """BioT's timestamps: ISO 8601 in UTC with a `Z`."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _mfa_enabled(entity) -> bool:
    """A staff member who signs in: whether they really use a second factor; others: as stored."""
    if getattr(entity, "user_id", None) is None:
        return entity.mfa_enabled
    return mfa_enabled(user_id=entity.user_id)


def _or_none(value):
    return value if value not in ("", None) else None


def organization_biot_reference(organization: Organization) -> dict:
    return {
        "id": str(organization.id),
        "name": organization.name,
        "templateId": str(organization.template_id),
        "parentEntityId": str(organization.parent_id) if organization.parent_id else None,
    }


def _referencers(entity: Person) -> dict:
    """Who points at this entity: a patient's caregivers (BioT lists referencing attributes)."""
    if not isinstance(entity, Patient) or entity.pk is None:
        return {}
    caregivers = list(entity.caregivers.all())
    if not caregivers:
        return {}
    first = caregivers[0]
    return {
        "caregivers": {
            "name": "caregivers",
            "displayName": "Caregivers",
            "count": len(caregivers),
            "attributeId": str(uuid.uuid5(_TEMPLATE_NAMESPACE, "caregiver.patients")),
            "templateId": template_id(EntityType.CAREGIVER),
            "referrer": {"id": str(first.id), "name": first.full_name, "parentEntityId": None},
        }
    }


def entity_biot_representation(entity: Person) -> dict:
    """A patient, caregiver or organization user in BioT's `data.entity` shape.

    Custom attributes appear as top-level keys beside the `_`-prefixed system attributes,
    as in BioT (the seed's `sex` and `group`).
    """
    entity_type = entity.entity_type
    name, display_name = TEMPLATES[entity_type]
    data = {
        "_name": {"firstName": entity.first_name, "lastName": entity.last_name},
        "_description": entity.description or entity_type,
        "_email": _or_none(entity.email),
        "_phone": str(entity.phone) if entity.phone else None,
        "_locale": _or_none(entity.locale),
        "_gender": _or_none(entity.gender),
        "_dateOfBirth": entity.date_of_birth.isoformat() if entity.date_of_birth else None,
        "_address": {
            "countryCode": _or_none(entity.address_country_code),
            "state": _or_none(entity.address_state),
            "city": _or_none(entity.address_city),
            "zipCode": _or_none(entity.address_zip_code),
            "address1": _or_none(entity.address_line1),
            "address2": _or_none(entity.address_line2),
        },
        "_mfa": {"enabled": _mfa_enabled(entity), "expirationInMinutes": None},
        "_nationalId": _or_none(entity.national_id),
        "_id": str(entity.id),
        "_ownerOrganization": organization_biot_reference(entity.organization),
        "_creationTime": _time(entity.created_at),
        "_lastModifiedTime": _time(entity.updated_at),
        "_invitationAccepted": entity.invitation_accepted,
        "_template": {"id": template_id(entity_type), "name": name, "displayName": display_name},
        "_referencers": _referencers(entity),
    }
    for key, value in (entity.custom_attributes or {}).items():
        if not key.startswith("_"):
            data[key] = value
    if isinstance(entity, Caregiver) and entity.pk is not None:
        data["patients"] = [{"id": str(p.id), "name": p.full_name} for p in entity.patients.all()]
    data.update(
        {
            "_enabled": entity.enabled,
            "_username": (entity.email or None) if entity.can_login else None,
            "_registrationSource": entity.registration_source,
            "_canLogin": entity.can_login,
            "_caption": entity.caption,
        }
    )
    return data


# ---------------------------------------------------------------------------------------------
# Input: the same shape, for POST/PUT/PATCH on the entity APIs.


class NameSerializer(serializers.Serializer):
    firstName = StrictCharField(max_length=100)  # noqa: N815 — BioT's wire names
    lastName = StrictCharField(max_length=100, required=False, allow_blank=True, default="")  # noqa: N815


class AddressSerializer(serializers.Serializer):
    countryCode = StrictCharField(max_length=2, required=False, allow_blank=True, allow_null=True)  # noqa: N815
    state = StrictCharField(max_length=100, required=False, allow_blank=True, allow_null=True)
    city = StrictCharField(max_length=100, required=False, allow_blank=True, allow_null=True)
    zipCode = StrictCharField(max_length=20, required=False, allow_blank=True, allow_null=True)  # noqa: N815
    address1 = StrictCharField(max_length=200, required=False, allow_blank=True, allow_null=True)
    address2 = StrictCharField(max_length=200, required=False, allow_blank=True, allow_null=True)


class MfaSerializer(serializers.Serializer):
    enabled = serializers.BooleanField(required=False)
    expirationInMinutes = serializers.IntegerField(required=False, allow_null=True)  # noqa: N815


class ReferenceSerializer(serializers.Serializer):
    id = serializers.UUIDField()


# BioT attribute → model field, for the flat attributes.
_FLAT = {
    "_description": "description",
    "_email": "email",
    "_locale": "locale",
    "_gender": "gender",
    "_dateOfBirth": "date_of_birth",
    "_nationalId": "national_id",
    "_enabled": "enabled",
    "_canLogin": "can_login",
    "_invitationAccepted": "invitation_accepted",
    "_registrationSource": "registration_source",
}
_ADDRESS = {
    "countryCode": "address_country_code",
    "state": "address_state",
    "city": "address_city",
    "zipCode": "address_zip_code",
    "address1": "address_line1",
    "address2": "address_line2",
}
# Read-only or server-assigned attributes a client may echo back; they are ignored.
_IGNORED = {
    "_id",
    "_ownerOrganization",
    "_template",
    "_creationTime",
    "_lastModifiedTime",
    "_referencers",
    "_username",
    "_caption",
}


class EntityInputSerializer(serializers.Serializer):
    """A patient, caregiver or organization user written in BioT's shape.

    Unknown keys without a leading `_` are custom attributes; unknown `_` keys are refused so a
    typo does not vanish silently.
    """

    _name = NameSerializer()
    _description = StrictCharField(max_length=500, required=False, allow_blank=True, allow_null=True)
    _email = serializers.EmailField(required=False, allow_blank=True, allow_null=True)
    _phone = StrictCharField(max_length=32, required=False, allow_blank=True, allow_null=True)
    _locale = StrictCharField(max_length=16, required=False, allow_blank=True, allow_null=True)
    _gender = serializers.ChoiceField(choices=Person.Gender.choices, required=False, allow_blank=True, allow_null=True)
    _dateOfBirth = serializers.DateField(required=False, allow_null=True)  # noqa: N815
    _address = AddressSerializer(required=False, allow_null=True)
    _mfa = MfaSerializer(required=False, allow_null=True)
    _nationalId = StrictCharField(max_length=64, required=False, allow_blank=True, allow_null=True)  # noqa: N815
    _enabled = serializers.ChoiceField(choices=Person.Enabled.choices, required=False)
    _canLogin = serializers.BooleanField(required=False)  # noqa: N815
    _invitationAccepted = serializers.BooleanField(required=False)  # noqa: N815
    _registrationSource = serializers.ChoiceField(  # noqa: N815
        choices=Person.RegistrationSource.choices, required=False
    )
    patients = serializers.ListField(
        child=serializers.UUIDField(), required=False, help_text="Caregivers only: ids of the patients cared for."
    )

    def __init__(self, *args, entity_type: str = EntityType.PATIENT, **kwargs):
        super().__init__(*args, **kwargs)
        self.entity_type = entity_type
        if entity_type != EntityType.CAREGIVER:
            self.fields.pop("patients")

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError({"non_field_errors": ["expected a JSON object"]})
        unknown = [k for k in data if k.startswith("_") and k not in self.fields and k not in _IGNORED]
        if unknown:
            raise serializers.ValidationError({unknown[0]: ["unknown attribute"]})
        validated = super().to_internal_value(data)
        custom = {k: v for k, v in data.items() if not k.startswith("_") and k not in self.fields}
        validated["custom_attributes"] = custom
        return validated

    def validate__locale(self, value):
        try:
            validate_locale(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages[0]) from None
        return value

    def validate__phone(self, value):
        if not value:
            return ""
        try:
            # BioT's API takes numbers in full international format only (docs/api.md, "Phone numbers").
            return to_e164(value)
        except InvalidPhoneNumber as exc:
            raise serializers.ValidationError(str(exc))

    def model_fields(self) -> dict:
        """Validated data as model field values (only what the client sent, for PATCH)."""
        data = self.validated_data
        fields: dict = {}
        name = data.get("_name") or {}
        if "firstName" in name:
            fields["first_name"] = name["firstName"]
        if "lastName" in name:
            fields["last_name"] = name["lastName"] or ""
        if "_phone" in data:
            fields["phone"] = data["_phone"] or ""
        for attr, name in _FLAT.items():
            if attr in data:
                value = data[attr]
                fields[name] = value if value is not None or name == "date_of_birth" else ""
        if "_address" in data:
            address = data["_address"] or {}
            for attr, name in _ADDRESS.items():
                fields[name] = address.get(attr) or ""
        if "_mfa" in data and data["_mfa"] is not None and "enabled" in data["_mfa"]:
            fields["mfa_enabled"] = data["_mfa"]["enabled"]
        if data.get("custom_attributes") or not self.partial:
            fields["custom_attributes"] = data.get("custom_attributes") or {}
        return fields
