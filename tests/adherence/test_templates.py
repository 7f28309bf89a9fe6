"""Message templates by language: picked when the reminder goes out, in the patient's current locale."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from adherence.services import reminders_send_due, slots_close_missed
from gateways.providers.simulator import SimulatorAdapter
from messaging.message_templates import MessageTemplate, TemplateKind, template_errors, template_render
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db(transaction=True)
DOSE = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def template(organization, kind, locale, text):
    item = MessageTemplate(organization=organization, kind=kind, locale=locale, text=text)
    item.full_clean()
    item.save()
    return item


@pytest.fixture
def plain_schedule(med_schedule):
    """The schedule without texts of its own: the organization's templates apply."""
    med_schedule.reminder_texts = {}
    med_schedule.save()
    return med_schedule


def test_a_locale_change_applies_to_the_next_reminder(organization, patient, plain_schedule):
    template(organization, TemplateKind.REMINDER, "en", "Take {medication} at {dose_time}, {first_name}.")
    template(organization, TemplateKind.REMINDER, "es", "{first_name}, tome {medication} a las {dose_time}.")
    patient.locale = "en-us"
    patient.save()

    reminders_send_due(now=DOSE)
    patient.locale = "es-mx"  # changed after the schedule was saved and its slots created
    patient.save()
    reminders_send_due(now=DOSE + timedelta(days=1))

    assert [m.text for m in SimulatorAdapter.outbox] == [
        "Take Metformin at 08:00, Ana.",
        "Ana, tome Metformin a las 08:00.",
    ]


def test_without_the_persons_language_the_organization_default_then_english(organization, patient, plain_schedule):
    organization.default_locale = "fr"
    organization.save()
    template(organization, TemplateKind.REMINDER, "fr", "Prenez {medication}.")
    patient.locale = "de-de"
    patient.save()

    assert _reminder_for(organization, patient, plain_schedule) == "Prenez Metformin."
    MessageTemplate.objects.all().delete()
    # Nothing in German or French: the built-in English text.
    assert _reminder_for(organization, patient, plain_schedule).startswith("Hi Ana, it is time to take your Metformin")


def _reminder_for(organization, patient, schedule):
    return template_render(
        organization,
        TemplateKind.REMINDER,
        patient.locale,
        overrides=schedule.reminder_texts,
        first_name=patient.first_name,
        medication=schedule.medication,
        dose_time="08:00",
    )


def test_the_schedules_own_text_wins_in_its_language(organization, patient, med_schedule):
    template(organization, TemplateKind.REMINDER, "es", "Plantilla de la organización")
    patient.locale = "es"
    patient.save()

    assert _reminder_for(organization, patient, med_schedule) == "Hola Ana"  # the schedule's "es" text


def test_caregivers_are_told_in_their_own_language(organization, patient, caregiver, plain_schedule):
    plain_schedule.caregiver_alert_text = ""
    plain_schedule.save()
    template(organization, TemplateKind.CAREGIVER, "es", "{patient_first_name} no confirmó {medication} ({dose_time}).")
    caregiver.locale = "es-ar"
    caregiver.save()
    reminders_send_due(now=DOSE)
    SimulatorAdapter.outbox.clear()

    slots_close_missed(now=DOSE + timedelta(hours=2))

    assert [m.text for m in SimulatorAdapter.outbox] == ["Ana no confirmó Metformin (08:00)."]


def test_the_organization_name_placeholder_is_its_own_name():
    organization = OrganizationFactory(name="Riverside")
    assert template_render(organization, TemplateKind.HELP, "en", contact="555") == (
        "Riverside: 555. Msg&data rates may apply. Reply STOP to unsubscribe."
    )


@pytest.mark.parametrize(
    ("locale", "text", "field", "expected"),
    [
        ("es", "Hola {nombre}", "text", "es: unknown placeholder {nombre}"),
        ("fr", "Bonjour {first_name", "text", "fr: broken placeholder"),
        ("ru", "Примите лекарство " * 20, "text", "ru: needs 6 segments (UCS-2)"),
        ("english!", "Hi", "locale", "is not a locale"),
        ("en", "   ", "text", "en: the text is empty"),
    ],
)
def test_a_bad_template_is_refused_naming_the_field_and_locale(organization, locale, text, field, expected):
    with pytest.raises(ValidationError) as exc:
        template(organization, TemplateKind.REMINDER, locale, text)

    assert expected in " ".join(exc.value.message_dict[field])
    assert not MessageTemplate.objects.exists()


def test_a_placeholder_of_another_kind_is_unknown():
    # {medication} is a reminder's, not a HELP answer's.
    assert template_errors(TemplateKind.HELP, "Call {medication}", locale="en") == [
        "en: unknown placeholder {medication}; use first_name, organization, contact, program"
    ]
