"""The conversations list: one row per number, unregistered numbers shown (masked) and openable."""

import re

import pytest

from gateways.providers.base import InboundSms
from messaging.models import InboundMessage
from messaging.services.outbound import messages_queue
from messaging.services.receive import inbound_receive

pytestmark = pytest.mark.django_db(transaction=True)


def receive(organization, sender, text, provider_id):
    message, _ = inbound_receive(
        organization=organization,
        gateway=None,
        sms=InboundSms(sender=sender, recipient="", text=text, provider_message_id=provider_id),
    )
    return message


def test_unregistered_numbers_show_masked_and_open_their_thread(staff, other_staff, organization, patient):
    receive(organization, "+12025550177", "who is this?", "a")
    messages_queue(organization=organization, recipients=["+12025550188"], body="Your results are ready", source="api")

    page = staff.get("/portal/conversations/").content.decode()

    assert "Number ••• 0177" in page and "unknown sender" in page
    assert "Number ••• 0188" in page and "not registered" in page
    assert "+12025550177" not in page and "+12025550188" not in page  # masked on a shared screen
    links = re.findall(r'href="(/portal/conversations/number/[0-9a-f-]+/)"', page)
    assert len(links) == 2
    opened = [staff.get(link) for link in links]
    assert all(r.status_code == 200 for r in opened)
    assert "who is this?" in "".join(r.content.decode() for r in opened)
    assert "Your results are ready" in "".join(r.content.decode() for r in opened)
    assert all(other_staff.get(link).status_code == 404 for link in links)


def test_one_row_per_number_however_the_provider_spelled_it(staff, organization, patient):
    messages_queue(organization=organization, recipients=[str(patient.phone)], body="Hello Ana", source="portal")
    reply = receive(organization, str(patient.phone), "thanks", "b")
    # A provider that sends the number without "+" (the row the user saw twice).
    InboundMessage.objects.filter(pk=reply.pk).update(originator="12025550111", entity_type="", entity_id=None)

    page = staff.get("/portal/conversations/").content.decode()

    assert page.count("<li>") == 1 and "Ana Lopez" in page and "thanks" in page
    thread = staff.get(f"/portal/conversations/patient/{patient.pk}/").content.decode()
    assert "Hello Ana" in thread and "thanks" in thread


def test_a_registered_numbers_message_link_opens_the_persons_thread(staff, organization, patient):
    message = receive(organization, str(patient.phone), "hi", "c")

    response = staff.get(f"/portal/conversations/number/{message.pk}/")

    assert response.status_code == 302 and response.url == f"/portal/conversations/patient/{patient.pk}/"


def test_staff_can_answer_an_unregistered_number_from_its_thread(staff, other_staff, organization, gateway):
    from messaging.models import OutboundMessage

    message = receive(organization, "+12025550177", "who is this?", "d")
    url = f"/portal/conversations/number/{message.pk}/"
    assert 'action="' + url + 'send"' in staff.get(url).content.decode()

    sent = staff.post(f"{url}send", {"body": "This is Demo Clinic. Please call us."}, HTTP_ACCEPT="application/json")
    empty = staff.post(f"{url}send", {"body": ""}, HTTP_ACCEPT="application/json")
    intruder = other_staff.post(f"{url}send", {"body": "hi"}, HTTP_ACCEPT="application/json")

    assert sent.status_code == 200
    reply = OutboundMessage.objects.get(recipient="+12025550177")
    assert reply.body == "This is Demo Clinic. Please call us." and reply.source == "portal"
    assert empty.status_code == 400 and empty.json()["field"] == "message"
    assert intruder.status_code == 404
    assert "This is Demo Clinic" in staff.get(url).content.decode()
