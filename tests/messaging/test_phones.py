"""E.164 parsing: what the send APIs accept and refuse."""

import random

import phonenumbers
import pytest

from messaging.phones import InvalidPhoneNumber, to_e164


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("+12025550101", "+12025550101"),
        (" +1 (202) 555-0101 ", "+12025550101"),
        ("004791234567", "+4791234567"),
        ("+393123456789", "+393123456789"),
    ],
)
def test_valid_numbers_become_e164(raw, expected):
    assert to_e164(raw) == expected


@pytest.mark.parametrize(
    "raw, reason",
    [
        ("", "empty"),
        ("2025550101", "international format"),
        ("+1202", "not a valid"),
        ("+12025550101 ext. 12", "extension"),
        ("+19005550123", "premium-rate"),
        ("hello", "international format"),
        ("+hello", "letters"),
    ],
)
def test_invalid_numbers_are_refused_with_a_reason(raw, reason):
    with pytest.raises(InvalidPhoneNumber, match=reason):
        to_e164(raw)


def test_national_format_with_a_region():
    assert to_e164("(202) 555-0101", region="US") == "+12025550101"
    assert to_e164("91234567", region="NO", strict=False) == "+4791234567"


def test_validity_matches_phonenumbers_is_valid_number():
    rng = random.Random(7)
    samples = [f"+{rng.randint(1, 999)}{rng.randint(10**5, 10**11)}" for _ in range(3000)]
    for raw in samples:
        try:
            parsed = phonenumbers.parse(raw, None)
        except phonenumbers.NumberParseException:
            continue
        valid = phonenumbers.is_valid_number(parsed)
        try:
            to_e164(raw)
            accepted = True
        except InvalidPhoneNumber as exc:
            accepted = False
            assert valid is False or "premium" in str(exc), raw
        if accepted:
            assert valid, raw


def test_one_pass_verdict_equals_phonenumbers_number_type():
    from messaging.phones import _number_verdict

    refused = {phonenumbers.PhoneNumberType.PREMIUM_RATE, phonenumbers.PhoneNumberType.SHARED_COST}
    rng = random.Random(11)
    samples = [f"+1{rng.randint(200, 999)}{rng.randint(2000000, 9999999)}" for _ in range(4000)]
    samples += [f"+{cc}{rng.randint(10**6, 10**10)}" for cc in (7, 44, 47, 61, 262, 590, 599) for _ in range(300)]
    samples += _canonical_samples(rng)
    for raw in samples:
        try:
            parsed = phonenumbers.parse(raw, None)
        except phonenumbers.NumberParseException:
            continue
        kind = phonenumbers.number_type(parsed)
        expected = (
            "invalid" if kind == phonenumbers.PhoneNumberType.UNKNOWN else "refused" if kind in refused else "valid"
        )
        assert _number_verdict(parsed) == expected, raw


def _canonical_samples(rng: random.Random) -> list[str]:
    """E.164 strings of every region: example numbers of each type, the same with the national
    prefix typed after the country code (a common mistake), and random digits."""
    samples = []
    for region in phonenumbers.SUPPORTED_REGIONS:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            samples.append(e164)
            cc = str(example.country_code)
            if metadata.national_prefix:
                samples.append(f"+{cc}{metadata.national_prefix}{e164[1 + len(cc) :]}")
            samples.append(e164[:-1])  # too short for many plans
    samples += [f"+{rng.randint(1, 999)}{rng.randint(0, 10 ** rng.randint(1, 12))}" for _ in range(4000)]
    return samples


def test_canonical_fast_path_answers_exactly_like_phonenumbers():
    from messaging.phones import _CANONICAL, _canonical_verdict, _number_verdict

    refused = "premium-rate and shared-cost numbers are refused"
    valid, decided = 0, 0
    for raw in _canonical_samples(random.Random(5)):
        if not _CANONICAL.fullmatch(raw):
            continue
        fast = _canonical_verdict(raw)
        try:
            valid += phonenumbers.is_valid_number(phonenumbers.parse(raw, None))
        except phonenumbers.NumberParseException:
            pass
        if fast is None:  # "ask parse()": the fast path may only defer, never decide differently
            continue
        decided += 1
        parsed = phonenumbers.parse(raw, None)
        verdict = _number_verdict(parsed)
        if verdict == "refused":
            assert fast == (False, refused), raw
        else:
            assert verdict == "valid", raw
            assert fast == (True, phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)), raw
    # It is a fast path only if it decides (nearly) every valid number, national prefix typed or not.
    assert decided >= 0.98 * valid


def test_country_of_answers_exactly_like_phonenumbers():
    """The sender of each recipient of a large send is chosen by country_of() (a gateway's local
    number per country); its digits-only answer must be phonenumbers' region_code_for_number()."""
    from messaging.phones import country_of

    for raw in _canonical_samples(random.Random(7)):
        try:
            expected = phonenumbers.region_code_for_number(phonenumbers.parse(raw, None)) or ""
        except phonenumbers.NumberParseException:
            expected = ""
        assert country_of(raw) == expected, raw
