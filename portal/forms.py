"""Portal forms. Schedule rules live in adherence.schedule.schedule_validate (the model's clean)."""

import re

from django import forms

from adherence.models import MedicationSchedule
from adherence.schedule import known_timezones
from portal import selectors

WEEKDAYS = [(0, "Mon"), (1, "Tue"), (2, "Wed"), (3, "Thu"), (4, "Fri"), (5, "Sat"), (6, "Sun")]


class ListTextField(forms.CharField):
    """A list edited as text: "08:00, 20:00"."""

    def __init__(self, *, separator=",", **kwargs):
        self.separator = separator
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return f"{self.separator} ".join(map(str, value)) if isinstance(value, list) else value

    def to_python(self, value):
        text = super().to_python(value)
        return [part.strip() for part in re.split(r"[,;\n]", text or "") if part.strip()]


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
            if not sep or not re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})?", locale.strip()):
                raise forms.ValidationError(f'"{line.strip()[:40]}": write each line as "en: Your text"')
            texts[locale.strip().lower()] = text.strip()
        return texts


class ScheduleForm(forms.ModelForm):
    dose_times = ListTextField(
        required=False, help_text='Local times, e.g. "08:00, 20:00".', widget=forms.TextInput(attrs={"size": 30})
    )
    days_of_week = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple, required=False
    )
    reminder_texts = LocaleTextsField(
        required=False, help_text="One line per language; placeholders {first_name} {last_name} {medication} {time}."
    )
    confirm_replies = ListTextField(required=False, help_text='Comma-separated, e.g. "1, Medication Taken".')
    timezone = forms.CharField(widget=forms.TextInput(attrs={"list": "timezones", "autocomplete": "off"}))

    class Meta:
        model = MedicationSchedule
        fields = list(MedicationSchedule.SETTINGS)
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "end_date": forms.DateInput(attrs={"type": "date"}),
        }

    @staticmethod
    def timezones():
        return sorted(known_timezones())


class SendForm(forms.Form):
    people = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    all_patients = forms.BooleanField(required=False, label="All patients")
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label="Message")

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        self.people_by_key = {
            f"{p.entity_type}:{p.pk}": p for p in selectors.simulator_numbers(organization=organization)
        }
        # The last digits tell apart two people with one name.
        self.fields["people"].choices = [
            (key, f"{p.full_name} · {p.entity_type.label} · {selectors.phone_masked(p.phone)}")
            for key, p in self.people_by_key.items()
        ]

    def clean(self):
        data = super().clean()
        chosen = [self.people_by_key[k] for k in data.get("people") or [] if k in self.people_by_key]
        if data.get("all_patients"):
            chosen += [p for p in self.people_by_key.values() if p.entity_type == "patient" and p not in chosen]
        if not chosen:
            raise forms.ValidationError("Choose at least one recipient.")
        data["people"] = chosen
        return data
