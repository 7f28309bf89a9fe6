"""Schedule arithmetic: time zones, daylight saving, weekdays, date bounds, windows, replies, locales."""

from datetime import UTC, date, datetime, time

import pytest
from django.core.exceptions import ValidationError

from adherence.models import MedicationSchedule
from adherence.schedule import (
    doses_between,
    local_to_utc,
    normalize_reply,
    reply_confirms,
    schedule_validate,
    zone,
)
from messaging.message_templates import text_in

NY = "America/New_York"


def schedule(**kwargs):
    values = {
        "medication": "Metformin",
        "dose_times": ["08:00"],
        "start_date": date(2026, 1, 1),
        "timezone": NY,
        "response_window_minutes": 60,
    }
    values.update(kwargs)
    return MedicationSchedule(**values)


def utc(*args):
    return datetime(*args, tzinfo=UTC)


def test_same_local_time_moves_in_utc_across_spring_forward():
    doses = doses_between(schedule(), utc(2026, 3, 7), utc(2026, 3, 10))

    assert [d.scheduled_at for d in doses] == [utc(2026, 3, 7, 13), utc(2026, 3, 8, 12), utc(2026, 3, 9, 12)]
    assert all(d.local_time == time(8) for d in doses)


def test_dose_in_the_spring_forward_gap_is_taken_just_after_the_gap():
    # 02:30 does not exist in New York on 2026-03-08; it is given at 03:30 EDT (07:30 UTC).
    assert local_to_utc(date(2026, 3, 8), time(2, 30), zone(NY)) == utc(2026, 3, 8, 7, 30)


def test_dose_in_the_repeated_fall_back_hour_happens_once_at_its_first_occurrence():
    doses = doses_between(schedule(dose_times=["01:30"]), utc(2026, 11, 1), utc(2026, 11, 2))

    assert [d.scheduled_at for d in doses] == [utc(2026, 11, 1, 5, 30)]  # 01:30 EDT, not 01:30 EST


def test_window_closes_response_window_after_the_dose():
    (dose,) = doses_between(schedule(response_window_minutes=45), utc(2026, 6, 1), utc(2026, 6, 2))

    assert dose.scheduled_at == utc(2026, 6, 1, 12)
    assert dose.window_closes_at == utc(2026, 6, 1, 12, 45)


def test_only_the_chosen_weekdays_between_start_and_end():
    s = schedule(days_of_week=[0, 2], start_date=date(2026, 6, 3), end_date=date(2026, 6, 15))

    days = [d.local_date for d in doses_between(s, utc(2026, 5, 1), utc(2026, 7, 1))]

    assert days == [date(2026, 6, 3), date(2026, 6, 8), date(2026, 6, 10), date(2026, 6, 15)]


def test_local_day_is_the_patients_day_not_utc():
    s = schedule(timezone="Pacific/Auckland", dose_times=["07:00"])

    (dose,) = doses_between(s, utc(2026, 6, 1, 12), utc(2026, 6, 2, 12))

    assert dose.local_date == date(2026, 6, 2) and dose.scheduled_at == utc(2026, 6, 1, 19)


@pytest.mark.parametrize(
    "reply", ["1", " 1 ", "Medication Taken", "medication taken", "MEDICATION   TAKEN", "medicationtaken"]
)
def test_default_confirming_replies_ignore_case_and_spaces(reply):
    assert reply_confirms(reply, ["1", "Medication Taken"])


@pytest.mark.parametrize("reply", ["", "2", "11", "not taken", "Medication", "STOP"])
def test_other_replies_do_not_confirm(reply):
    assert not reply_confirms(reply, ["1", "Medication Taken"])


def test_normalize_reply():
    assert normalize_reply("  Medication Taken! ") == "medicationtaken"


def test_reminder_text_follows_the_patient_locale():
    texts = {"en": "Take it", "es": "Tómela", "fr-CA": "Prenez-le (CA)"}

    assert text_in(texts, "es-mx") == "Tómela"
    assert text_in(texts, "fr-ca") == "Prenez-le (CA)"
    assert text_in(texts, "fr-fr") == "Prenez-le (CA)"
    # No German text: the caller goes on to the organization's default locale, then English.
    assert text_in(texts, "de-de") is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"dose_times": []}, "dose_times"),
        ({"dose_times": ["25:00"]}, "dose_times"),
        ({"dose_times": ["8am"]}, "dose_times"),
        ({"start_date": date(2026, 2, 1), "end_date": date(2026, 1, 1)}, "end_date"),
        ({"days_of_week": [7]}, "days_of_week"),
        ({"reminder_texts": {"en": "Hi {nickname}"}}, "reminder_texts"),
        ({"confirm_replies": []}, "confirm_replies"),
        ({"reminder_texts": {"es": "Hola {nombre}"}}, "reminder_texts"),
        ({"reminder_texts": {"es": "Hola " + "x" * 600}}, "reminder_texts"),
        ({"reminder_texts": {"english!": "Hi"}}, "reminder_texts"),
        ({"caregiver_alert_text": "{patient_first_name} missed {dose}"}, "caregiver_alert_text"),
        ({"follow_up_missed_doses": 1000}, "follow_up_missed_doses"),
    ],
)
def test_bad_schedules_are_refused_naming_the_field(changes, field):
    with pytest.raises(ValidationError) as exc:
        schedule_validate(schedule(**changes))

    assert field in exc.value.message_dict


def test_a_good_schedule_validates():
    schedule_validate(schedule(dose_times=["08:00", "20:30"], reminder_texts={"en": "Hi {first_name}: {medication}"}))
