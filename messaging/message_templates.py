"""Message templates by language: the texts smsportal writes itself (dose reminders, caregiver
escalations, consent and opt-in confirmations, HELP and opt-out answers), one per organization, kind
and locale.

A text is picked when it is sent, never stored with a schedule: person's locale → the
organization's default locale → English, each tried as "es-mx", then "es", then any "es-*";
per locale a schedule's own override wins over the organization's template, which wins over the
built-in English text. So a patient whose locale changes gets the next reminder in the new language.

Placeholders are `{name}`; each kind accepts its own set (PLACEHOLDERS). A template with an unknown
placeholder, or one that would need more than SMSPORTAL_TEMPLATE_MAX_SEGMENTS segments once filled
with typical values, is refused (`template_errors`), naming the locale.
"""

import string

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from smsportal.locales import locale_normalize, locale_valid
from smsportal.text import text_info


class TemplateKind(models.TextChoices):
    REMINDER = "reminder", "Dose reminder"
    CAREGIVER = "caregiver", "Caregiver escalation (missed dose)"
    CONFIRMATION = "confirmation", "Consent confirmation (opt-in recorded)"
    OPT_IN = "opt_in", "Opt-in confirmation (opt-out lifted)"
    HELP = "help", "HELP answer"
    OPT_OUT = "opt_out", "Opt-out confirmation"
    PROGRAM_OPT_OUT = "program_opt_out", "Program opt-out confirmation"


# What each kind may use. `{time}` is the older name of `{dose_time}` (schedules written before it);
# `{programs}` (the organization's confirmation settings) says the same as `{program}`; in the
# consent answers `{keyword}` is the one that undoes it (STOP after an opt-in, START after an opt-out).
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    TemplateKind.REMINDER: ("first_name", "last_name", "medication", "dose_time", "time", "organization"),
    TemplateKind.CAREGIVER: (
        "first_name",
        "patient_first_name",
        "patient_last_name",
        "medication",
        "dose_time",
        "time",
        "organization",
    ),
    TemplateKind.CONFIRMATION: ("first_name", "organization", "program", "programs", "keyword"),
    TemplateKind.OPT_IN: ("first_name", "organization", "keyword"),
    TemplateKind.HELP: ("first_name", "organization", "contact", "program"),
    TemplateKind.OPT_OUT: ("first_name", "organization", "program", "keyword"),
    TemplateKind.PROGRAM_OPT_OUT: ("first_name", "organization", "program", "programs", "keyword"),
}

# Built-in English texts: what is sent when neither the schedule nor the organization has one.
DEFAULT_TEXTS: dict[str, str] = {
    TemplateKind.REMINDER: (
        "Hi {first_name}, it is time to take your {medication} ({dose_time}). Reply 1 when you have taken it."
    ),
    TemplateKind.CAREGIVER: "{patient_first_name} has not confirmed taking {medication} due at {dose_time}.",
    TemplateKind.CONFIRMATION: "{organization}: you are subscribed to {program}. Reply STOP to unsubscribe.",
    TemplateKind.OPT_IN: "{organization}: you are subscribed again. Reply {keyword} to unsubscribe.",
    TemplateKind.HELP: "{organization}: {contact}. Msg&data rates may apply. Reply STOP to unsubscribe.",
    TemplateKind.OPT_OUT: "{organization}: you have been unsubscribed and will receive no more messages.",
    TemplateKind.PROGRAM_OPT_OUT: "{organization}: you will receive no more {program}. Reply STOP to end all messages.",
}

# Typical values a template is measured with (segment count) when the real ones are not known yet.
SAMPLE_VALUES = {
    "first_name": "Alexandra",
    "last_name": "Rodriguez",
    "patient_first_name": "Alexandra",
    "patient_last_name": "Rodriguez",
    "medication": "Amoxicillin 500 mg",
    "dose_time": "08:00",
    "time": "08:00",
    "organization": "Riverside Clinic",
    "program": "medication reminders",
    "programs": "medication reminders",
    "keyword": "STOP",
    "contact": "+1 555 010 0000",
}

FALLBACK_LOCALE = "en"


class MessageTemplate(models.Model):
    """One organization's text of one kind in one locale ("en", "es", "fr-ca")."""

    organization = models.ForeignKey("entities.Organization", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=TemplateKind.choices)
    locale = models.CharField(max_length=16, help_text='A language ("es") or language-region ("es-mx").')
    text = models.TextField(help_text="Placeholders in braces, e.g. {first_name}; see the documentation per kind.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "messaging"
        ordering = ["kind", "locale"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind", "locale"], name="uniq_message_template"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.locale})"

    def clean(self):
        self.locale = locale_normalize(self.locale)
        if not locale_valid(self.locale):
            raise ValidationError({"locale": f"{self.locale!r} is not a locale such as en, es or fr-ca"})
        errors = template_errors(self.kind, self.text, locale=self.locale)
        if errors:
            raise ValidationError({"text": errors})


# --- locales ---------------------------------------------------------------------------------


def locale_chain(person_locale: str, organization=None) -> list[str]:
    """The locales tried in order: the person's, the organization's default, English."""
    chain = []
    for locale in (person_locale, getattr(organization, "default_locale", ""), FALLBACK_LOCALE):
        locale = locale_normalize(locale)
        if locale and locale not in chain:
            chain.append(locale)
    return chain


def text_in(texts: dict[str, str] | None, locale: str) -> str | None:
    """The text for "es-mx" among `texts`: "es-mx", then "es", then any "es-*"; None when none."""
    by_key = {locale_normalize(k): v for k, v in (texts or {}).items() if v}
    wanted = locale_normalize(locale)
    language = wanted.split("-")[0]
    if wanted in by_key:
        return by_key[wanted]
    if language in by_key:
        return by_key[language]
    return next((v for k, v in sorted(by_key.items()) if k.split("-")[0] == language), None)


# --- picking and rendering -------------------------------------------------------------------


def organization_texts(organization, kind: str) -> dict[str, str]:
    """The organization's templates of a kind, locale → text (one query)."""
    if organization is None or organization.pk is None:
        return {}
    return dict(MessageTemplate.objects.filter(organization=organization, kind=kind).values_list("locale", "text"))


def template_pick(
    organization, kind: str, locale: str, *, overrides: dict[str, str] | None = None, default: str | None = None
) -> str:
    """The text to send to a person with `locale` (see the module docstring for the order).

    `default` stands in for the built-in English text when no template matches (the organization's
    own confirmation and HELP settings; "" there means no answer)."""
    org_texts = organization_texts(organization, kind)
    for candidate in locale_chain(locale, organization):
        for texts in (overrides, org_texts):
            found = text_in(texts, candidate)
            if found:
                return found
    return DEFAULT_TEXTS[kind] if default is None else default


class _Blank(dict):
    def __missing__(self, key):
        return ""


def render(text: str, **values) -> str:
    """Fill placeholders; one that slipped past validation renders empty instead of failing a send."""
    try:
        return string.Formatter().vformat(text, (), _Blank(values))
    except (ValueError, IndexError):
        return text


def template_render(
    organization,
    kind: str,
    locale: str,
    /,
    *,
    overrides: dict[str, str] | None = None,
    default: str | None = None,
    **values,
) -> str:
    """Pick the text for the person's locale and fill it: what every sender of these texts calls.

    `organization` fills `{organization}` unless given; `{time}` and `{dose_time}` stand for each
    other, as do `{program}` and `{programs}`. `default`: see template_pick.
    """
    values.setdefault("organization", getattr(organization, "name", ""))
    for a, b in (("dose_time", "time"), ("program", "programs")):
        if a in values or b in values:
            values.setdefault(a, values.get(b))
            values.setdefault(b, values.get(a))
    return render(template_pick(organization, kind, locale, overrides=overrides, default=default), **values)


# --- validation ------------------------------------------------------------------------------


def placeholders_of(text: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as exc:
        raise ValueError(f"broken placeholder ({exc})") from exc


def max_segments() -> int:
    return min(settings.SMSPORTAL_TEMPLATE_MAX_SEGMENTS, settings.SMSPORTAL_MAX_SEGMENTS)


def template_preview(kind: str, text: str, **values) -> dict:
    """The text filled with `values` (typical ones where missing), its encoding and segment count."""
    filled = render(text, **{**SAMPLE_VALUES, **{k: v for k, v in values.items() if v not in (None, "")}})
    info = text_info(filled)
    return {"text": filled, "encoding": info.encoding, "segments": info.segments, "units": info.units}


def template_errors(kind: str, text: str, *, locale: str, **values) -> list[str]:
    """What is wrong with a template, each message naming the locale; [] when it is fine."""
    if not isinstance(text, str) or not text.strip():
        return [f"{locale}: the text is empty"]
    try:
        unknown = placeholders_of(text) - set(PLACEHOLDERS[kind])
    except ValueError as exc:
        return [f"{locale}: {exc}"]
    if unknown:
        return [f"{locale}: unknown placeholder {{{sorted(unknown)[0]}}}; use " + ", ".join(PLACEHOLDERS[kind])]
    preview = template_preview(kind, text, **values)
    if preview["segments"] > max_segments():
        return [
            f"{locale}: needs {preview['segments']} segments ({preview['encoding']}) once filled in; "
            f"the limit is {max_segments()}"
        ]
    return []


def texts_errors(kind: str, texts, **values) -> list[str]:
    """`template_errors` for every locale of a {locale: text} mapping."""
    if not isinstance(texts, dict):
        return ['a mapping of locale to text, e.g. {"en": "…"}']
    errors = []
    for locale, text in texts.items():
        if not locale_valid(locale):
            errors.append(f"{locale!r} is not a locale such as en, es or fr-ca")
            continue
        errors += template_errors(kind, text, locale=locale, **values)
    return errors
