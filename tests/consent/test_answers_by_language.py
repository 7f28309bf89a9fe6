"""Consent and HELP answers go through the organization's templates, in the language of the person
at the number (person → organization default → English); the organization's settings stand in for
the built-in English texts."""

import pytest

from messaging.message_templates import TemplateKind
from tests.consent.test_sms_commands import PHONE, replies_to, sms
from tests.factories import MessageTemplateFactory, PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)


def template(organization, kind, locale, text):
    return MessageTemplateFactory(organization=organization, kind=kind, locale=locale, text=text)


def test_a_spanish_speaking_patients_stop_is_confirmed_in_spanish(organization, gateway):
    template(
        organization,
        TemplateKind.OPT_OUT,
        "es",
        "{organization}: {first_name}, no recibirá más mensajes. {keyword} para volver.",
    )
    template(organization, TemplateKind.OPT_OUT, "en", "{organization}: unsubscribed.")
    PatientFactory(organization=organization, phone=PHONE, first_name="Ana", locale="es-mx")

    sms(organization, gateway, "Stop.", "SM1")

    assert [m.body for m in replies_to()] == ["Demo Org: Ana, no recibirá más mensajes. START para volver."]


def test_help_is_answered_with_the_organizations_template_with_name_and_contact(organization, gateway):
    organization.help_contact = "+1 202 555 0100"
    organization.save()
    template(organization, TemplateKind.HELP, "en", "{organization} reminders. Call {contact}. STOP to end.")
    PatientFactory(organization=organization, phone=PHONE, locale="en-us")

    sms(organization, gateway, "help", "SM1")

    assert [m.body for m in replies_to()] == ["Demo Org reminders. Call +1 202 555 0100. STOP to end."]


def test_without_a_template_the_organizations_setting_is_the_text(organization, gateway):
    organization.opt_out_confirmation = "{organization}: unsubscribed, reply {keyword} to come back."
    organization.opt_in_keywords = ["ALTA"]
    organization.save()
    PatientFactory(organization=organization, phone=PHONE, locale="es")

    sms(organization, gateway, "STOP", "SM1")

    assert [m.body for m in replies_to()] == ["Demo Org: unsubscribed, reply ALTA to come back."]


def test_an_unknown_number_gets_the_organizations_default_language(organization, gateway):
    organization.default_locale = "fr"
    organization.save()
    template(organization, TemplateKind.OPT_OUT, "fr", "{organization} : vous ne recevrez plus de messages.")
    template(organization, TemplateKind.OPT_IN, "fr", "{organization} : vous êtes de nouveau inscrit.")

    sms(organization, gateway, "STOP", "SM1")  # a number that is none of the organization's people
    sms(organization, gateway, "START", "SM2")

    assert [m.body for m in replies_to()] == [
        "Demo Org : vous ne recevrez plus de messages.",
        "Demo Org : vous êtes de nouveau inscrit.",
    ]


def test_program_opt_out_and_consent_confirmation_in_the_persons_language(organization, gateway, reminders):
    template(
        organization, TemplateKind.CONFIRMATION, "es", "{organization}: recibirá {program}. {keyword} para terminar."
    )
    template(organization, TemplateKind.PROGRAM_OPT_OUT, "es", "{organization}: no recibirá más {program}.")
    PatientFactory(organization=organization, phone=PHONE, locale="es")

    sms(organization, gateway, "YES REMINDERS", "SM1")
    sms(organization, gateway, "STOP REMINDERS", "SM2")

    assert [m.body for m in replies_to()] == [
        "Demo Org: recibirá Medication reminders. STOP para terminar.",
        "Demo Org: no recibirá más Medication reminders.",
    ]


def test_a_blank_setting_without_a_template_sends_no_answer(organization, gateway):
    organization.opt_out_confirmation = ""
    organization.save()
    PatientFactory(organization=organization, phone=PHONE)

    sms(organization, gateway, "STOP", "SM1")

    assert replies_to() == []
