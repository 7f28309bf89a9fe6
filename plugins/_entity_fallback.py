"""Stand-in for entities.serializers.entity_biot_representation until the core issue's version lands."""

from datetime import UTC


def _time(value):
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z") if value else None


def _or_none(value):
    return value if value not in ("", None) else None


def entity_biot_representation(entity) -> dict:
    org = entity.organization
    return {
        "_name": {"firstName": entity.first_name, "lastName": entity.last_name},
        "_description": entity.description or entity.entity_type,
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
        "_mfa": {"enabled": entity.mfa_enabled, "expirationInMinutes": None},
        "_nationalId": _or_none(entity.national_id),
        "_id": str(entity.id),
        "_ownerOrganization": {
            "id": str(org.id),
            "name": org.name,
            "templateId": str(org.template_id),
            "parentEntityId": str(org.parent_id) if org.parent_id else None,
        },
        "_creationTime": _time(entity.created_at),
        "_lastModifiedTime": _time(entity.updated_at),
        "_invitationAccepted": entity.invitation_accepted,
        "_template": {"id": None, "name": entity.entity_type, "displayName": entity.entity_type},
        "_referencers": {},
        "_enabled": entity.enabled,
        "_username": (entity.email or None) if entity.can_login else None,
        "_registrationSource": entity.registration_source,
        "_canLogin": entity.can_login,
        "_caption": entity.caption,
    }
