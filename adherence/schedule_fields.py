"""A schedule's list and mapping settings as staff type them, for the portal's schedule form and
the admin's: dose times and confirming replies as "08:00, 20:00", days as Mon … Sun boxes, reminder
texts one line per language. The schedule's own validation (`schedule_validate`) names what is wrong."""

from django import forms

from adherence.schedule import parse_dose_time
from smsportal.form_fields import ListTextField
from smsportal.locales import locale_normalize, locale_valid

WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]


class LocaleTextsField(forms.CharField):
    """Reminder texts, one per line: "en: Hi {first_name} …"."""

    widget = forms.Textarea(attrs={"rows": 4})

    def prepare_value(self, value):
        return "\n".join(f"{k}: {v}" for k, v in value.items()) if isinstance(value, dict) else value

    def to_python(self, value):
        texts = {}
        for line in (super().to_python(value) or "").splitlines():
            if not line.strip():
                continue
            locale, sep, text = line.partition(":")
            if not sep or not locale_valid(locale):
                raise forms.ValidationError(f'"{line.strip()[:40]}": write each line as "en: Your text"')
            texts[locale_normalize(locale)] = text.strip()
        return texts


class DoseTimesField(ListTextField):
    """Dose times in the order of the day, whatever order they were typed in; bad ones are left for
    the schedule's own validation to name."""

    def to_python(self, value):
        times = super().to_python(value)
        try:
            return sorted(times, key=parse_dose_time)
        except ValueError:
            return times
