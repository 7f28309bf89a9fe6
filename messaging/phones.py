"""Phone number parsing: everything stored and compared is E.164."""

import phonenumbers

_REFUSED_TYPES = {
    phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST,
}


class InvalidPhoneNumber(ValueError):
    pass


def to_e164(raw: str, *, region: str | None = None, strict: bool = True) -> str:
    """Parse a number to E.164 or raise InvalidPhoneNumber with a reason.

    `strict` requires full international format ("+" or DHIS2's "00" prefix) unless a region
    is given. Premium-rate and shared-cost numbers are refused (toll-fraud guard).
    """
    text = (raw or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text:
        raise InvalidPhoneNumber("phone number is empty")
    if strict and not text.startswith("+") and not region:
        raise InvalidPhoneNumber("phone number must be in full international format, e.g. +15551234567")
    try:
        number = phonenumbers.parse(text, region or None)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"not a phone number ({exc._msg})") from exc
    if number.extension:
        raise InvalidPhoneNumber("phone numbers with an extension cannot receive SMS")
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber("not a valid phone number for its country")
    if phonenumbers.number_type(number) in _REFUSED_TYPES:
        raise InvalidPhoneNumber("premium-rate and shared-cost numbers are refused")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_sender(raw: str, *, region: str | None = None) -> str:
    """Best-effort E.164 for an inbound sender; falls back to the digits as given."""
    try:
        return to_e164(raw if raw.startswith(("+", "00")) or region else "+" + raw.lstrip("+"), region=region)
    except InvalidPhoneNumber:
        return (raw or "").strip()


def country_of(e164: str) -> str:
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or ""
    except phonenumbers.NumberParseException:
        return ""
