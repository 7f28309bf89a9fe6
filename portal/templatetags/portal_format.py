"""The portal's one way to write dates and times, in the organization's time zone (`staff_view`
activates it): `{{ d|day }}` "Mon 7 Dec" (the year added when it is not this one), `{{ t|when }}`
"Mon 7 Dec 14:20", `{{ t|clock }}` "14:20" (where the day is given around it), `{{ t|when_from_today }}`
"14:20" today and "Tue 8 Dec 14:20" on another day. `:"s"` adds seconds.

Times of day stored in a schedule's own zone (`DoseSlot.local_time`) are shown with that zone named;
`{{ slot|dose_time }}` writes a dose's time in the page's zone like every other time on it, and the
patient's own clock beside it when their schedule keeps another zone."""

from datetime import date, datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html

register = template.Library()

DAY = "D j M"
DAY_OTHER_YEAR = "D j M Y"
CLOCK = "H:i"


def _local(value):
    if isinstance(value, datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


@register.filter
def day(value) -> str:
    value = _local(value)
    if not isinstance(value, date):
        return ""
    this_year = timezone.localdate().year
    return date_format(value, DAY if value.year == this_year else DAY_OTHER_YEAR)


@register.filter
def clock(value, precision: str = "") -> str:
    value = _local(value)
    if not isinstance(value, datetime):
        return ""
    return date_format(value, CLOCK + (":s" if precision == "s" else ""))


@register.filter
def when(value, precision: str = "") -> str:
    value = _local(value)
    if not isinstance(value, datetime):
        return ""
    return f"{day(value)} {clock(value, precision)}"


@register.filter
def when_from_today(value) -> str:
    local = _local(value)
    if not isinstance(local, datetime):
        return ""
    return clock(local) if local.date() == timezone.localdate() else when(local)


@register.filter
def dose_time(slot) -> str:
    """A dose's time for the staff's page: "08:00 America/New_York" when the schedule keeps the
    page's zone; else the page's time first (the reminder and reply beside it are in that zone)
    and the patient's clock after it: "03:00 · 08:00 UTC for the patient"."""
    page_zone = str(timezone.get_current_timezone())
    patient_zone = slot.schedule.timezone or "UTC"
    patient_clock = date_format(slot.local_time, CLOCK)
    if patient_zone == page_zone:
        return format_html('<b>{}</b> <small class="muted">{}</small>', patient_clock, patient_zone)
    return format_html(
        '<b>{}</b> <small class="muted">· {} {} for the patient</small>',
        clock(slot.scheduled_at),
        patient_clock,
        patient_zone,
    )
