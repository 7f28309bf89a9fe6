"""Phone number parsing: everything stored and compared is E.164."""

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata


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
        return False, "phone number must be in full international format, e.g. +12025550123"
    if _EXTENSION.search(text):
        return False, "phone numbers with an extension cannot receive SMS"
    if _LETTER.search(text):
        # phonenumbers reads letters as keypad digits (+1202555ABCD → +12025552223): a typo or a
        # vanity number would reach someone else.
        return False, "phone number must not contain letters"
    if _CANONICAL.fullmatch(text) and (decided := _canonical_verdict(text)) is not None:
        return decided
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        return False, f"not a phone number ({exc._msg})"
    if number.extension:
        return False, "phone numbers with an extension cannot receive SMS"
    verdict = _number_verdict(number)
    if verdict is _INVALID:
        return False, _invalid_reason(number)
    if verdict is _REFUSED:
        return False, "premium-rate and shared-cost numbers are refused"
    return True, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_VALID, _REFUSED, _INVALID = "valid", "refused", "invalid"
# phonenumbers' type order: the first match decides. Premium rate and toll free come before shared
# cost; every type after shared cost makes a valid, accepted number, so their order is free:
# the common ones go first.
_TYPE_ORDER = [
    ("premium_rate", _REFUSED),
    ("toll_free", _VALID),
    ("shared_cost", _REFUSED),
    ("mobile", _VALID),
    ("fixed_line", _VALID),
    ("voip", _VALID),
    ("personal_number", _VALID),
    ("pager", _VALID),
    ("uan", _VALID),
    ("voicemail", _VALID),
]
_matchers: dict[int, tuple[frozenset, re.Pattern | None]] = {}


def _matches(national: str, desc) -> bool:
    """phonenumbers' _is_number_matching_desc() with the pattern compiled once per description."""
    if desc is None:
        return False
    matcher = _matchers.get(id(desc))
    if matcher is None:
        pattern = desc.national_number_pattern
        matcher = _matchers[id(desc)] = (frozenset(desc.possible_length), re.compile(pattern) if pattern else None)
    lengths, pattern = matcher
    if lengths and len(national) not in lengths:
        return False
    return pattern is not None and pattern.fullmatch(national) is not None


def _region_verdict(national: str, metadata) -> str:
    if not _matches(national, metadata.general_desc):
        return _INVALID
    for name, verdict in _TYPE_ORDER:
        if _matches(national, getattr(metadata, name)):
            return verdict
    return _INVALID


def _number_verdict(number: phonenumbers.PhoneNumber) -> str:
    """Valid, refused (premium rate, shared cost) or invalid, as phonenumbers.number_type() would
    classify the number, in one pass and without typing it fully (tests/messaging/test_phones.py
    checks it against number_type() on random numbers)."""
    return _national_verdict(number.country_code, phonenumbers.national_significant_number(number))


def _national_verdict(country_code: int, national: str) -> str:
    """Valid, refused or invalid in the number's region (see _region_metadata)."""
    main, regions = _country(country_code)
    if main is None:
        return _INVALID
    if not regions:
        return _region_verdict(national, main)
    found = _region_metadata(regions, national)
    return _INVALID if found is None else found[1]


def _region_metadata(regions: list, national: str):
    """(metadata, verdict) of the region a number belongs to when several regions share its country
    code (+1: 25 NANP regions), or None: the first region whose leading digits match, or without
    leading digits the first where the number is valid — as phonenumbers.region_code_for_number()."""
    for metadata in regions:
        if metadata.leading_digits is not None:
            if re.match(metadata.leading_digits, national):
                return metadata, _region_verdict(national, metadata)
            continue
        verdict = _region_verdict(national, metadata)
        if verdict is not _INVALID:
            return metadata, verdict
    return None


@lru_cache(maxsize=512)
def _country(country_code: int):
    """(main metadata, the metadata of each region when several share the code) of a country code,
    and its national-prefix pattern compiled (None when it has none)."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(country_code) or ()
    main = PhoneMetadata.metadata_for_region_or_calling_code(
        country_code, phonenumbers.region_code_for_country_code(country_code)
    )
    shared = []
    if len(regions) > 1:
        shared = [m for r in regions if (m := PhoneMetadata.metadata_for_region(r.upper(), None)) is not None]
    return main, shared


@lru_cache(maxsize=512)
def _prefix_pattern(country_code: int) -> re.Pattern | None:
    main, _ = _country(country_code)
    pattern = main.national_prefix_for_parsing if main is not None else None
    return re.compile(pattern) if pattern else None


def _country_code_split(text: str) -> tuple[int, str] | None:
    """(country code, the digits after it) of a "+digits" string; None when no code matches."""
    digits = text[1:]
    for length in (1, 2, 3):
        country_code = int(digits[:length])
        if country_code in COUNTRY_CODE_TO_REGION_CODE:
            return country_code, digits[length:]
    return None


def _canonical_verdict(text: str) -> tuple[bool, str] | None:
    """The answer for a plain "+digits" string, or None to let phonenumbers.parse() decide (and,
    for an invalid number, explain why).

    Recipient lists are nearly always E.164 already; parse() spends most of its time on what such
    a string does not need (punctuation, letters, extensions, RFC 3966). This runs only the steps
    parse() applies to it — the country code, then the national-prefix rule — on the digits
    themselves (tested against parse() + format_number() on generated numbers of every region).
    Digits that may start with a national prefix are left to parse(): it alone knows when to strip it.
    """
    split = _country_code_split(text)
    if split is None:
        return None
    country_code, national = split
    main, _ = _country(country_code)
    if main is None or not 2 <= len(national) <= 17:
        return None
    prefix = _prefix_pattern(country_code)
    if prefix is not None and (found := prefix.match(national)):
        national = _national_prefix_removed(national, found, country_code)
        if not 2 <= len(national) <= 17:
            return None
    verdict = _national_verdict(country_code, national)
    if verdict is _INVALID:
        return None
    if verdict is _REFUSED:
        return False, "premium-rate and shared-cost numbers are refused"
    # E.164 is the country code and the national significant number, leading zeros included.
    return True, f"+{country_code}{national}"


def _national_prefix_removed(national: str, found: re.Match, country_code: int) -> str:
    """`national` without the national prefix (or carrier code) `found` at its start, the way the
    numbering plan's metadata says parse() reads it: removed, or rewritten by the plan's transform
    rule when its last group matched; kept when the digits as typed fit the plan's pattern and the
    rest would not, or when the rest has no possible length (too short, local-only, none listed)."""
    main, _ = _country(country_code)
    rule = main.national_prefix_transform_rule
    if rule and found.groups() and found.groups()[-1] is not None:
        rest = found.expand(rule) + national[found.end() :]
    else:
        rest = national[found.end() :]
    pattern = _general_pattern(country_code)
    if pattern.fullmatch(national) and not pattern.fullmatch(rest):
        return national
    lengths, local_only = main.general_desc.possible_length, main.general_desc.possible_length_local_only
    if (
        lengths
        and lengths[0] != -1
        and len(rest) not in local_only
        and (len(rest) in lengths or len(rest) > lengths[-1])
    ):
        return rest
    return national


@lru_cache(maxsize=512)
def _general_pattern(country_code: int) -> re.Pattern:
    main, _ = _country(country_code)
    return re.compile(main.general_desc.national_number_pattern or "(?!)")


_CANONICAL = re.compile(r"\+[1-9][0-9]{2,16}")
_LETTER = re.compile(r"[^\W\d_]")
_EXTENSION = re.compile(r"\d\s*(?:ext\.?|x|#)\s*\d+\s*$", re.IGNORECASE)


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


def sender_e164(raw: str, *, region: str | None = None) -> str:
    """The sender in E.164 when it is a possible number (replies come from real phones, so a number
    outside current numbering metadata is still kept as a number); else the text as given."""
    text = (raw or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    elif text and text[0].isdigit() and not region:
        text = "+" + text  # providers often drop the "+" of international numbers
    strict = False
    if text.startswith("+"):
        # A "+" number parses the same whatever the region and strictness; always asked one way, so
        # to_e164's cache answers the second ask (the webhook adapter's, then the receive's): one parse.
        region, strict = None, True
    try:
        return to_e164(text, region=region, strict=strict)
    except InvalidPhoneNumber:
        pass
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return (raw or "").strip()
    if phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return (raw or "").strip()


def country_of(e164: str) -> str:
    """The region (ISO country) of an E.164 number, "" when none. Answered from the digits, as
    phonenumbers would (tested against it), so choosing a sender per recipient of a large send
    costs no parse(); anything unusual goes through phonenumbers."""
    split = _country_code_split(e164) if _CANONICAL.fullmatch(e164) else None
    if split is not None:
        country_code, national = split
        main, regions = _country(country_code)
        prefix = _prefix_pattern(country_code)
        # E.164 indeed (not too short, no national prefix typed): answered here; else parse() decides.
        if main is not None and len(national) >= 2 and not (prefix is not None and prefix.match(national)):
            if not regions:
                return main.id
            found = _region_metadata(regions, national)
            if found is not None:
                return found[0].id
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or ""
    except phonenumbers.NumberParseException:
        return ""
