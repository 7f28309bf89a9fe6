"""STOP / STOP <program> / YES / HELP from a phone, through the inbound pipeline (embedded mode)."""

import pytest

from entities.models import Consent, ConsentRecord, Patient
from gateways.providers.base import InboundSms
from messaging.models import InboundMessage, OptOut, OutboundMessage
from messaging.services.outbound import messages_queue
from messaging.services.receive import inbound_receive
from plugins.models import PluginInvocation
from plugins.registrations import registration_create
from tests.consent.conftest import opt_in
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "+12025550111"


def sms(organization, gateway, text, provider_id, sender=PHONE):
    sms = InboundSms(sender=sender, recipient="+12025550100", text=text, provider_message_id=provider_id)
    return inbound_receive(organization=organization, gateway=gateway, sms=sms)[0]


def replies_to(number=PHONE):
    return list(OutboundMessage.objects.filter(recipient=number, source="system").order_by("created_at"))


def plugin(organization, url, actions):
    return registration_create(
        organization=organization, name="consent-hook", url=url, entity_types=["patient"], actions=actions,
        max_attempts=2, timeout_seconds=2,
    )  # fmt: skip


@pytest.mark.parametrize("text", ["Stop.", "QUIT", "opt out", "Revoke", "unsubscribe please", "STOP!!"])
def test_any_listed_form_stops_everything_with_one_confirmation(organization, gateway, reminders, text):
    patient = PatientFactory(organization=organization, phone=PHONE)
    opt_in(patient, reminders)

    first = sms(organization, gateway, text, "SM1")
    sms(organization, gateway, "STOP", "SM2")  # again: no second confirmation

    assert OptOut.objects.filter(organization=organization, phone_number=PHONE).exists()
    assert [m.body for m in replies_to()] == [organization.opt_out_confirmation]
    first.refresh_from_db()
    assert first.command == "opt_out"
    record = ConsentRecord.objects.get(entity_id=patient.pk, status="opted_out")
    assert (record.source, record.inbound_message_id, record.text) == ("sms", first.id, text)
    later = messages_queue(organization=organization, recipients=[PHONE], body="Dose", source="schedule")
    assert later.messages[0].error_reason == "opted out"  # never re-messaged


def test_an_ordinary_reply_with_stop_in_it_reaches_the_plugins(organization, gateway, receiver):
    PatientFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url, ["_incomingSms"])

    message = sms(organization, gateway, "don't stop the reminders", "SM1")

    message.refresh_from_db()
    assert message.command == "" and message.status == "processed"
    assert not OptOut.objects.exists()
    receiver.wait_for(1)


def test_stop_reminders_stops_that_program_only_and_is_confirmed_once(organization, gateway, reminders, general):
    patient = PatientFactory(organization=organization, phone=PHONE)
    opt_in(patient, reminders)
    opt_in(patient, general)

    sms(organization, gateway, "STOP REMINDERS", "SM1")
    sms(organization, gateway, "stop reminders", "SM2")

    assert not OptOut.objects.exists()
    assert [m.body for m in replies_to()] == [
        "Demo Org: you will receive no more Medication reminders. Reply STOP to end all messages."
    ]
    states = dict(Consent.objects.filter(entity_id=patient.pk).values_list("program__slug", "status"))
    assert states == {"medication-reminders": "opted_out", "general": "opted_in"}
    dose = messages_queue(
        organization=organization, recipients=[PHONE], body="Dose", source="portal", program=reminders
    )
    news = messages_queue(organization=organization, recipients=[PHONE], body="News", source="portal", program=general)
    assert dose.messages[0].error_reason == "opted out of medication-reminders"
    assert news.messages[0].status != "failed"


def test_yes_records_consent_with_the_agreed_text_and_confirms_once(organization, gateway, reminders, receiver):
    patient = PatientFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url, ["_consentChanged"])

    message = sms(organization, gateway, "Yes", "SM1")
    sms(organization, gateway, "YES", "SM2")

    record = ConsentRecord.objects.get(entity_id=patient.pk)
    assert (record.status, record.source, record.program, record.inbound_message_id) == (
        "opted_in", "sms", reminders, message.id,
    )  # fmt: skip
    assert record.text == reminders.consent_text and record.actor == "the person, by SMS keyword"
    assert [m.body for m in replies_to()] == [
        "Demo Org: you will receive Medication reminders. Reply STOP to end, HELP for help."
    ]
    # The plugin hears about it once, with the ledger record.
    (call,) = receiver.wait_for(1)
    meta = call.json["data"]["additionalData"]["metadata"]
    assert call.json["metadata"]["actionName"] == "_consentChanged"
    assert call.json["data"]["entity"]["_id"] == str(patient.pk)
    assert meta["recordId"] == str(record.id) and meta["status"] == "opted_in"
    assert meta["previousStatus"] == "unknown" and meta["program"]["slug"] == "medication-reminders"
    assert meta["source"] == "sms" and meta["text"] == reminders.consent_text
    assert PluginInvocation.objects.filter(action="_consentChanged").count() == 1
    sent = messages_queue(
        organization=organization, recipients=[PHONE], body="Dose", source="portal", program=reminders
    )
    assert sent.messages[0].status != "failed"


@pytest.mark.parametrize("configured", ["", "Demo Org does not know this number. Call 555-0100."])
def test_an_opt_in_from_an_unknown_number_is_stored_answered_as_configured_never_a_person(
    organization, gateway, reminders, configured
):
    organization.unknown_number_reply = configured
    organization.save()

    message = sms(organization, gateway, "YES", "SM1", sender="+12025550199")

    message.refresh_from_db()
    assert message.command == "opt_in" and InboundMessage.objects.count() == 1
    assert not Patient.objects.exists() and not ConsentRecord.objects.exists()
    assert [m.body for m in replies_to("+12025550199")] == ([configured] if configured else [])


def test_help_answers_with_the_organization_name_and_contact(organization, gateway):
    organization.help_text = "Medication reminders from your care team. Reply STOP to unsubscribe."
    organization.help_contact = "call +1 202 555 0100"
    organization.save()

    sms(organization, gateway, "Help", "SM1")

    assert [m.body for m in replies_to()] == [
        "Demo Org: Medication reminders from your care team. Reply STOP to unsubscribe. Contact: call +1 202 555 0100"
    ]


def test_localized_opt_out_keyword(organization, gateway):
    organization.opt_out_keywords = ["ARRÊT", "BAJA"]
    organization.save()

    sms(organization, gateway, "arrêt", "SM1")
    sms(organization, gateway, "Baja", "SM2", sender="+12025550122")

    assert set(OptOut.objects.values_list("phone_number", flat=True)) == {PHONE, "+12025550122"}
