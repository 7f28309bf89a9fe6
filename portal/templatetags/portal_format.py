"""The portal's one way to write dates and times, in the organization's time zone (`staff_view`
activates it): `{{ d|day }}` "Mon 7 Dec" (the year added when it is not this one), `{{ t|when }}`
"Mon 7 Dec 14:20", `{{ t|clock }}` "14:20" (where the day is given around it). `:"s"` adds seconds.

Times of day stored in a schedule's own zone (`DoseSlot.local_time`) are shown with that zone named."""

from datetime import date, datetime

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format

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
