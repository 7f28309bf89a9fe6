"""The built-in simulator reports delivery like a real provider: messages go sent → delivered (or
undelivered/failed as configured), `_smsStatus` plugins are called and the portal shows the timeline."""

import pytest

from gateways.models import Gateway
from messaging.models import OutboundMessage
from messaging.services.outbound import messages_queue
from messaging.tasks import simulator_reports_task
from plugins.registrations import registration_create
from tests.factories import GatewayFactory, PatientFactory
from tests.plugins.receiver import PluginReceiver
from tests.portal.conftest import staff_client

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "+12025550111"


def _simulator(organization, **config) -> Gateway:
    return GatewayFactory(organization=organization, config=config)


def _send(organization) -> OutboundMessage:
    queued = messages_queue(organization=organization, recipients=[PHONE], body="Dose at 8", source="portal")
    return OutboundMessage.objects.get(pk=queued.messages[0].pk)


def test_a_sent_message_is_reported_delivered_and_sms_status_plugins_are_called(organization, settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    _simulator(organization)
    patient = PatientFactory(organization=organization, phone=PHONE)
    receiver = PluginReceiver()
    try:
        registration_create(
            organization=organization, name="status", url=receiver.url, entity_types=["patient"], actions=["_smsStatus"]
        )

        message = _send(organization)

        assert message.status == "delivered" and message.sent_at and message.delivered_at >= message.sent_at
        (call,) = receiver.wait_for(1)
        assert call.json["metadata"]["actionName"] == "_smsStatus"
        assert call.json["data"]["additionalData"]["metadata"]["status"] == "delivered"
    finally:
        receiver.close()
    page = staff_client(organization, "nurse").get(f"/portal/conversations/patient/{patient.pk}/").content.decode()
    assert 'aria-label="Status timeline"' in page and "sent " in page and "delivered " in page


def test_numbers_configured_unreachable_are_reported_undelivered_with_a_reason(organization):
    _simulator(organization, failNumbers=[PHONE])

    message = _send(organization)

    assert (message.status, message.provider_error_code) == ("undelivered", "SIM-UNREACHABLE")
    assert message.error_reason == "phone unreachable" and message.undelivered_at


def test_failed_mode_reports_every_message_failed(organization):
    _simulator(organization, deliveryReports="failed")

    message = _send(organization)

    assert (message.status, message.provider_error_code) == ("failed", "SIM-FAILED")


def test_reports_off_leaves_messages_sent(organization):
    _simulator(organization, deliveryReports="off")

    assert _send(organization).status == "sent"


def test_a_report_arriving_after_the_send_was_recorded_moves_it(organization, monkeypatch):
    """A worker runs the report task later (countdown): the message is `sent` by then."""
    _simulator(organization)
    later = []
    monkeypatch.setattr(simulator_reports_task, "apply_async", lambda args, countdown: later.append((args, countdown)))

    message = _send(organization)
    assert message.status == "sent" and later[0][1] > 0

    assert simulator_reports_task(*later[0][0]) == 1
    message.refresh_from_db()
    assert message.status == "delivered"
    delivered_at = message.delivered_at
    simulator_reports_task(*later[0][0])  # a repeated report changes nothing
    message.refresh_from_db()
    assert (message.status, message.delivered_at) == ("delivered", delivered_at)


@pytest.mark.parametrize(
    ("config", "field"),
    [({"deliveryReports": "sometimes"}, "deliveryReports"), ({"failNumbers": ["12"]}, "failNumbers")],
)
def test_bad_simulator_settings_are_400_naming_the_field(api_client, organization, config, field):
    response = api_client.post("/api/gateways", {"type": "simulator", "name": "sim", **config}, format="json")

    assert response.status_code == 400, response.content
    assert response.json()["response"]["field"] == field
    assert not Gateway.objects.filter(name="sim").exists()


def test_fail_numbers_are_stored_in_e164(api_client, organization):
    body = {"type": "simulator", "name": "sim", "failNumbers": "0012025550111, +12025550112"}
    assert api_client.post("/api/gateways", body, format="json").status_code == 200

    assert Gateway.objects.get(name="sim").config["failNumbers"] == ["+12025550111", "+12025550112"]
