"""After a failover the message keeps the route it took: the primary's failure stays visible in the
API, the admin and the portal, although the fallback sent it."""

import pytest

from messaging.models import OutboundMessage
from messaging.services.delivery import outbound_deliver
from messaging.services.outbound import messages_queue
from portal.selectors import thread_messages
from tests.factories import PatientFactory
from tests.portal.conftest import staff_client

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_primarys_failure_stays_on_a_message_the_fallback_sent(organization, sim, pair, settings, api_client):
    settings.SMSPORTAL_SEND_MAX_ATTEMPTS = 1
    primary, fallback = pair
    patient = PatientFactory(organization=organization, phone="+12025550101")
    sim.behave(provider="bulksms", status=503)

    queued = messages_queue(organization=organization, recipients=[str(patient.phone)], body="Hi", source="portal")
    message = OutboundMessage.objects.get(pk=queued.messages[0].pk)
    if message.status == "queued":  # a retry plan may hold it briefly: deliver now
        OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=None)
        outbound_deliver(message_ids=[str(message.pk)])
        message.refresh_from_db()

    assert message.gateway_id == fallback.pk and message.status == "sent"
    (step,) = message.route_history
    assert step["gateway"] == primary.uid and step["gatewayName"] == "Main"
    assert step["reason"].startswith("primary gateway failed")
    read = api_client.get(f"/api/sms/outbound/{message.pk}").json()
    assert read["routeHistory"] == message.route_history
    (item,) = thread_messages(organization=organization, entity=patient)
    assert item.route_history == message.route_history
    page = staff_client(organization, "nurse").get(f"/portal/conversations/patient/{patient.pk}/").content.decode()
    assert "Not sent by Main: primary gateway failed" in page
