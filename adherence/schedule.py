"""Schedule arithmetic and validation: pure functions, no queries of their own (validation reads the
schedule's patient and organization, usually already loaded).

Dose times are wall-clock times in the patient's zone. A time that does not exist on a
daylight-saving spring-forward day (02:30 in New York) is taken at the same distance past the
gap (03:30); a time that happens twice on the fall-back day is taken at its first occurrence.
"""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from django.core.exceptions import ValidationError

from messaging.message_templates import TemplateKind, template_errors, texts_errors

TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


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
    values = schedule_sample_values(schedule)
    errors_texts = texts_errors(TemplateKind.REMINDER, schedule.reminder_texts or {}, **values)
    if errors_texts:
        errors.setdefault("reminder_texts", []).extend(errors_texts)
    replies = schedule.confirm_replies
    if (
        not isinstance(replies, list)
        or not replies
        or not all(isinstance(r, str) and normalize_reply(r) for r in replies)
    ):
        errors.setdefault("confirm_replies", []).append("at least one confirming reply")
    if schedule.caregiver_alert_text:
        errors_texts = template_errors(TemplateKind.CAREGIVER, schedule.caregiver_alert_text, locale="all", **values)
        if errors_texts:
            errors.setdefault("caregiver_alert_text", []).extend(errors_texts)
    for name in ("follow_up_missed_doses", "follow_up_silent_days"):
        value = getattr(schedule, name, None)
        if value is not None and not 0 <= value <= 365:
            errors.setdefault(name, []).append("between 0 (never) and 365")
    if schedule.response_window_minutes is not None and not 1 <= schedule.response_window_minutes <= 24 * 60:
        errors.setdefault("response_window_minutes", []).append("between 1 and 1440 minutes")
    if errors:
        raise ValidationError(errors)


def schedule_sample_values(schedule) -> dict:
    """The real values a schedule's texts will be filled with, where known (segment counts)."""
    patient = schedule.patient if schedule.patient_id else None
    times = schedule.dose_times if isinstance(schedule.dose_times, list) else []
    return {
        "first_name": getattr(patient, "first_name", ""),
        "last_name": getattr(patient, "last_name", ""),
        "patient_first_name": getattr(patient, "first_name", ""),
        "patient_last_name": getattr(patient, "last_name", ""),
        "medication": schedule.medication,
        "dose_time": str(times[0]) if times else "",
        "organization": schedule.organization.name if schedule.organization_id else "",
    }


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
