"""Phone number parsing: everything stored and compared is E.164."""

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata
from phonenumbers.phonenumberutil import _number_type_helper

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
    ok, value = _parse(raw if isinstance(raw, str) else str(raw or ""), region or None, strict)
    if not ok:
        raise InvalidPhoneNumber(value)
    return value


@lru_cache(maxsize=65_536)
def _parse(raw: str, region: str | None, strict: bool) -> tuple[bool, str]:
    """(True, E.164) or (False, reason). Cached: recipient lists repeat (daily reminders), and
    parsing dominates the accept path of a large send (docs/performance.md)."""
    text = raw.strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    if not text:
        return False, "phone number is empty"
    if strict and not text.startswith("+") and not region:
        return False, "phone number must be in full international format, e.g. +15551234567"
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        return False, f"not a phone number ({exc._msg})"
    if number.extension:
        return False, "phone numbers with an extension cannot receive SMS"
    # number_type() is UNKNOWN exactly when is_valid_number() is False (both resolve the
    # region from the country code and match the same patterns); one call instead of two.
    number_type = _number_type(number)
    if number_type == phonenumbers.PhoneNumberType.UNKNOWN:
        return False, _invalid_reason(number)
    if number_type in _REFUSED_TYPES:
        return False, "premium-rate and shared-cost numbers are refused"
    return True, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _invalid_reason(number: phonenumbers.PhoneNumber) -> str:
    """Why a parsed number is not valid, and what a valid one looks like for its country."""
    code = number.country_code
    region = phonenumbers.region_code_for_country_code(code)
    if region in (None, "ZZ"):
        return f"+{code} is not an assigned country calling code"
    possible = phonenumbers.is_possible_number_with_reason(number)
    why = {
        phonenumbers.ValidationResult.TOO_SHORT: "it is too short",
        phonenumbers.ValidationResult.TOO_LONG: "it is too long",
    }.get(possible, "no range of that numbering plan matches its digits")
    reason = f"not a valid number in the numbering plan of {region} (+{code}): {why}"
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    if example is not None:
        reason += f"; expected e.g. {phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)}"
    return reason


def _number_type(number: phonenumbers.PhoneNumber) -> int:
    """phonenumbers.number_type() in one pass.

    For a country code shared by several regions (+1: 25 NANP regions) number_type() first finds
    the region by typing the number against each region's patterns, then types it again against
    the region found; this keeps the type computed while finding the region. Equivalence with
    number_type() is tested on random numbers (tests/messaging/test_phones.py).
    """
    regions = COUNTRY_CODE_TO_REGION_CODE.get(number.country_code)
    if not regions or len(regions) == 1:
        return phonenumbers.number_type(number)
    national_number = phonenumbers.national_significant_number(number)
    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            if re.match(metadata.leading_digits, national_number):
                return _number_type_helper(national_number, metadata)
            continue
        found = _number_type_helper(national_number, metadata)
        if found != phonenumbers.PhoneNumberType.UNKNOWN:
            return found
    return phonenumbers.PhoneNumberType.UNKNOWN


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
