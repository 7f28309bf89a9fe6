"""The inbound API says which of our numbers a reply was sent to, and a keyword reply from a known
patient is stored as theirs (entityType/entityId), like any other reply."""

import pytest

from gateways.providers.base import InboundSms
from messaging.models import InboundMessage
from messaging.services.receive import inbound_receive
from tests.factories import KeywordCommandFactory, PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _receive(organization, gateway, text: str, sender: str = "+12025550111"):
    sms = InboundSms(sender=sender, recipient="+12025550100", text=text, provider_message_id=f"p-{text}-{sender}")
    message, _ = inbound_receive(organization=organization, gateway=gateway, sms=sms)
    return InboundMessage.objects.get(pk=message.pk)


@pytest.mark.parametrize("action", ["reply", "ignore", "reply_and_plugins"])
def test_a_keyword_reply_from_a_patient_is_stored_as_theirs_with_our_number(api_client, organization, gateway, action):
    patient = PatientFactory(organization=organization, phone="+12025550111")
    KeywordCommandFactory(organization=organization, keyword="CLINIC", action=action, reply_text="Open 8-16")

    message = _receive(organization, gateway, "clinic hours?")

    assert message.command == "keyword:CLINIC"
    read = api_client.get(f"/api/sms/inbound/{message.pk}").json()
    assert (read["entityType"], read["entityId"]) == ("patient", str(patient.pk))
    assert read["recipient"] == "+12025550100"


def test_an_opt_out_from_a_patient_is_theirs_too(api_client, organization, gateway):
    patient = PatientFactory(organization=organization, phone="+12025550111")

    message = _receive(organization, gateway, "STOP")

    assert (message.command, message.entity_type, message.entity_id) == ("opt_out", "patient", patient.pk)


def test_a_keyword_reply_from_an_unknown_number_has_no_entity(api_client, organization, gateway):
    KeywordCommandFactory(organization=organization, keyword="CLINIC", action="reply", reply_text="Open 8-16")

    message = _receive(organization, gateway, "CLINIC", sender="+12025550199")

    read = api_client.get(f"/api/sms/inbound/{message.pk}").json()
    assert read["entityType"] is None and read["status"] == "processed"
    listed = api_client.get("/api/sms/inbound?fields=id,recipient").json()
    assert listed["inboundsmss"] == [{"id": str(message.pk), "recipient": "+12025550100"}]
