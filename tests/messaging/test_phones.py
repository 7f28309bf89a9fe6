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
        ("+hello", "not a phone number"),
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


def test_one_pass_number_type_equals_phonenumbers_number_type():
    from messaging.phones import _number_type

    rng = random.Random(11)
    samples = [f"+1{rng.randint(200, 999)}{rng.randint(2000000, 9999999)}" for _ in range(4000)]
    samples += [f"+{cc}{rng.randint(10**6, 10**10)}" for cc in (7, 44, 47, 61, 262, 590, 599) for _ in range(300)]
    for raw in samples:
        try:
            parsed = phonenumbers.parse(raw, None)
        except phonenumbers.NumberParseException:
            continue
        assert _number_type(parsed) == phonenumbers.number_type(parsed), raw
