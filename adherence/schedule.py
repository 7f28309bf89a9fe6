"""Schedule arithmetic and validation: pure functions, no database.

Dose times are wall-clock times in the patient's zone. A time that does not exist on a
daylight-saving spring-forward day (02:30 in New York) is taken at the same distance past the
gap (03:30); a time that happens twice on the fall-back day is taken at its first occurrence.
"""

import re
import string
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError

TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
# Placeholders a reminder text may use; anything else is refused when the schedule is saved.
REMINDER_PLACEHOLDERS = ("first_name", "last_name", "medication", "time")
CAREGIVER_PLACEHOLDERS = ("first_name", "patient_first_name", "patient_last_name", "medication", "time")


@lru_cache(maxsize=1)
def known_timezones() -> frozenset[str]:
    return frozenset(available_timezones())


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def parse_dose_time(value) -> time:
    match = TIME_RE.match(str(value).strip())
    if not match:
        raise ValueError(f'{value!r} is not a time of day as "HH:MM"')
    return time(int(match.group(1)), int(match.group(2)))


def placeholders_of(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ValueError(f"broken placeholder ({exc})") from exc


def schedule_validate(schedule) -> None:
    """Raise ValidationError naming each bad field (shared by the admin, portal forms and the API)."""
    errors: dict[str, list[str]] = {}
    if schedule.timezone not in known_timezones():
        errors.setdefault("timezone", []).append(f"unknown time zone {schedule.timezone!r}")
    times = schedule.dose_times if isinstance(schedule.dose_times, list) else None
    if not times:
        errors.setdefault("dose_times", []).append("at least one dose time is required")
    else:
        for value in times:
            try:
                parse_dose_time(value)
            except ValueError as exc:
                errors.setdefault("dose_times", []).append(str(exc))
        if len({str(t).strip() for t in times}) != len(times):
            errors.setdefault("dose_times", []).append("dose times repeat")
    days = schedule.days_of_week
    if not isinstance(days, list) or not days or any(not isinstance(d, int) or not 0 <= d <= 6 for d in days):
        errors.setdefault("days_of_week", []).append("a non-empty list of weekdays, 0 = Monday … 6 = Sunday")
    if schedule.start_date and schedule.end_date and schedule.end_date < schedule.start_date:
        errors.setdefault("end_date", []).append("the end date is before the start date")
    texts = schedule.reminder_texts
    if not isinstance(texts, dict) or not texts or not all(isinstance(v, str) and v.strip() for v in texts.values()):
        errors.setdefault("reminder_texts", []).append('at least one reminder text, e.g. {"en": "Time for …"}')
    else:
        for locale, text in texts.items():
            try:
                unknown = placeholders_of(text) - set(REMINDER_PLACEHOLDERS)
            except ValueError as exc:
                errors.setdefault("reminder_texts", []).append(f"{locale}: {exc}")
                continue
            if unknown:
                errors.setdefault("reminder_texts", []).append(
                    f"{locale}: unknown placeholder {{{sorted(unknown)[0]}}}; use " + ", ".join(REMINDER_PLACEHOLDERS)
                )
    replies = schedule.confirm_replies
    if (
        not isinstance(replies, list)
        or not replies
        or not all(isinstance(r, str) and normalize_reply(r) for r in replies)
    ):
        errors.setdefault("confirm_replies", []).append("at least one confirming reply")
    try:
        unknown = placeholders_of(schedule.caregiver_alert_text or "") - set(CAREGIVER_PLACEHOLDERS)
    except ValueError as exc:
        errors.setdefault("caregiver_alert_text", []).append(str(exc))
    else:
        if unknown:
            errors.setdefault("caregiver_alert_text", []).append(f"unknown placeholder {{{sorted(unknown)[0]}}}")
    if schedule.response_window_minutes is not None and not 1 <= schedule.response_window_minutes <= 24 * 60:
        errors.setdefault("response_window_minutes", []).append("between 1 and 1440 minutes")
    if errors:
        raise ValidationError(errors)


def local_to_utc(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a wall-clock time; DST gaps shift forward, repeated hours take the first."""
    local = datetime.combine(day, at).replace(tzinfo=tz, fold=0)
    utc = local.astimezone(UTC)
    # fold=0 in a gap resolves with the pre-transition offset, i.e. past the gap: what we want.
    return utc


@dataclass(frozen=True)
class Dose:
    local_date: date
    local_time: time
    scheduled_at: datetime
    window_closes_at: datetime


def doses_between(schedule, start: datetime, end: datetime) -> list[Dose]:
    """Every dose of the schedule with start <= scheduled_at < end (aware datetimes)."""
    tz = zone(schedule.timezone)
    times = sorted(parse_dose_time(t) for t in schedule.dose_times)
    days = set(schedule.days_of_week)
    window = timedelta(minutes=schedule.response_window_minutes)
    # Local days that can hold an instant in [start, end): widen by one day for offsets.
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    if schedule.start_date:
        first = max(first, schedule.start_date)
    if schedule.end_date:
        last = min(last, schedule.end_date)
    doses = []
    day = first
    while day <= last:
        if day.weekday() in days:
            for at in times:
                when = local_to_utc(day, at, tz)
                if start <= when < end:
                    doses.append(Dose(day, at, when, when + window))
        day += timedelta(days=1)
    return doses


def normalize_reply(text: str) -> str:
    """Case- and space-insensitive form: "  medication  TAKEN " == "Medication Taken" == "MedicationTaken"."""
    return "".join((text or "").split()).casefold().strip(".!")


def reply_confirms(text: str, confirm_replies: list[str]) -> bool:
    wanted = {normalize_reply(r) for r in confirm_replies or []}
    return bool(normalize_reply(text)) and normalize_reply(text) in wanted


def text_for_locale(texts: dict[str, str], locale: str, *, fallback: str = "en") -> str:
    """The text for "es-mx": "es-mx", then "es", then any "es-*", then the fallback, then the first."""
    by_key = {k.lower().replace("_", "-"): v for k, v in (texts or {}).items()}
    wanted = (locale or "").lower().replace("_", "-")
    language = wanted.split("-")[0]
    if wanted in by_key:
        return by_key[wanted]
    if language in by_key:
        return by_key[language]
    for key, value in by_key.items():
        if key.split("-")[0] == language:
            return value
    if fallback in by_key:
        return by_key[fallback]
    return next(iter(by_key.values()), "")


class _Blank(dict):
    def __missing__(self, key):
        return ""


def render(text: str, **values) -> str:
    """Fill placeholders; an unknown one renders empty instead of failing a send."""
    return string.Formatter().vformat(text, (), _Blank(values))
