"""Portal forms. Schedule rules live in adherence.schedule.schedule_validate (the model's clean)."""

import re

from django import forms

from adherence.models import DEFAULT_FOLLOW_UP_MISSED, DEFAULT_FOLLOW_UP_SILENT_DAYS, MedicationSchedule
from adherence.schedule import known_timezones
from adherence.schedule_fields import WEEKDAYS, DoseTimesField, LocaleTextsField
from portal import selectors
from smsportal.form_fields import ListTextField

MAX_NUMBERS = 100  # numbers typed on the Send page (a list beyond that is an import, not a form)


class ScheduleForm(forms.ModelForm):
    dose_times = DoseTimesField(
        required=False, help_text='Local times, e.g. "08:00, 20:00".', widget=forms.TextInput(attrs={"size": 30})
    )
    days_of_week = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple, required=False
    )
    reminder_texts = LocaleTextsField(
        required=False,
        help_text='One line per language, e.g. "es: Hola {first_name} …"; a language without a line uses the '
        "organization's template. Placeholders {first_name} {last_name} {medication} {dose_time} {organization}.",
    )
    confirm_replies = ListTextField(required=False, help_text='Comma-separated, e.g. "1, Medication Taken".')
    timezone = forms.CharField(widget=forms.TextInput(attrs={"list": "timezones", "autocomplete": "off"}))

    class Meta:
        model = MedicationSchedule
        # The follow-up thresholds are the portal's (not in the import/export columns).
        fields = [*MedicationSchedule.SETTINGS[:-1], "follow_up_missed_doses", "follow_up_silent_days", "active"]
        widgets = {
            "start_date": forms.DateInput(attrs={"type": "date"}),
            "end_date": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("follow_up_missed_doses", "follow_up_silent_days"):
            self.fields[name].required = False  # left empty: the default (docs/portal.md)
        if self.instance._state.adding and not self.is_bound and not self.initial.get("start_date"):
            # A new schedule starts today in the organization's zone (its first doses materialize now).
            self.initial["start_date"] = selectors.org_today(self.instance.organization)

    def clean_follow_up_missed_doses(self):
        value = self.cleaned_data.get("follow_up_missed_doses")
        return DEFAULT_FOLLOW_UP_MISSED if value is None else value

    def clean_follow_up_silent_days(self):
        value = self.cleaned_data.get("follow_up_silent_days")
        return DEFAULT_FOLLOW_UP_SILENT_DAYS if value is None else value

    @staticmethod
    def timezones():
        return sorted(known_timezones())


class SendForm(forms.Form):
    people = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple)
    all_patients = forms.BooleanField(required=False, label="All patients")
    numbers = forms.CharField(
        required=False,
        label="Other numbers",
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Numbers nobody is registered with, separated by commas or lines; national numbers are read in "
        "your organization's region.",
    )
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), label="Message")
    program = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="— none —",
        help_text="A program that requires consent is sent only to people who opted in.",
    )

    def __init__(self, *args, organization, **kwargs):
        from entities.models import ConsentProgram

        super().__init__(*args, **kwargs)
        self.organization = organization
        self.fields["program"].queryset = ConsentProgram.objects.filter(organization=organization)
        self.people_by_key = {
            f"{p.entity_type}:{p.pk}": p for p in selectors.simulator_numbers(organization=organization)
        }
        # The last digits tell apart two people with one name.
        self.fields["people"].choices = [
            (key, f"{p.full_name} · {p.entity_type.label} · {selectors.phone_masked(p.phone)}")
            for key, p in self.people_by_key.items()
        ]

    def clean_numbers(self) -> list[str]:
        """Each typed number in E.164 (the organization's region for national ones); every bad one named."""
        from smsportal.phones import InvalidPhoneNumber, to_e164

        given = [part.strip() for part in re.split(r"[,;\n]", self.cleaned_data.get("numbers") or "") if part.strip()]
        if len(given) > MAX_NUMBERS:
            raise forms.ValidationError(f"at most {MAX_NUMBERS} numbers at once")
        numbers, errors = [], []
        for raw in given:
            try:
                number = to_e164(raw, region=self.organization.default_region or None)
            except InvalidPhoneNumber as exc:
                errors.append(f'"{raw[:24]}": {exc}')
                continue
            if number not in numbers:
                numbers.append(number)
        if errors:
            raise forms.ValidationError(errors)
        return numbers

    def clean(self):
        data = super().clean()
        chosen = [self.people_by_key[k] for k in data.get("people") or [] if k in self.people_by_key]
        if data.get("all_patients"):
            chosen += [p for p in self.people_by_key.values() if p.entity_type == "patient" and p not in chosen]
        if not chosen and not data.get("numbers") and "numbers" not in self.errors:
            raise forms.ValidationError("Choose at least one recipient or type a number.")
        data["people"] = chosen
        return data


class ConsentForm(forms.Form):
    """Staff record what a person agreed to (or revoked), for one of the organization's programs."""

    program = forms.ModelChoiceField(queryset=None, empty_label=None)
    status = forms.ChoiceField(choices=[("opted_in", "Opted in"), ("opted_out", "Opted out")])
    text = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        max_length=2000,
        label="What they agreed to",
        help_text="Blank: the program's consent text.",
    )
    note = forms.CharField(required=False, max_length=500, label="How (e.g. signed form at the clinic)")

    def __init__(self, *args, organization, **kwargs):
        from entities.models import ConsentProgram

        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = ConsentProgram.objects.filter(organization=organization)

    def clean(self):
        data = super().clean()
        if data.get("program") and not data.get("text"):
            data["text"] = data["program"].consent_text
        return data
