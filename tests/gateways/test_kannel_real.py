"""Kannel for real: our send → smsbox → bearerbox → fakesmsc (the SMSC) → delivery reports → our
status; fakesmsc's reply → Kannel's sms-service → our inbound webhook → stored → plugin.

Needs Debian's `kannel` and `kannel-extras` (bearerbox, smsbox, fakesmsc): skipped with the reason
when they are absent, failing under SMSPORTAL_REQUIRE_SERVICES=1 (.ci/run installs them).
"""

import pytest

from gateways.simulator.kannel_box import PASSWORD, USERNAME, KannelBox, binaries
from gateways.webhook_url import gateway_webhook_url
from messaging.models import InboundMessage, OutboundMessage
from messaging.services.delivery import outbound_deliver
from messaging.services.outbound import messages_queue
from plugins.models import PluginInvocation
from plugins.registrations import registration_create
from tests.conftest import service_unavailable
from tests.factories import GatewayFactory, PatientFactory
from tests.plugins.receiver import PluginReceiver
from tests.polling import wait_until

pytestmark = pytest.mark.django_db(transaction=True)
PATIENT = "+12025550111"
OUR_NUMBER = "+12025550100"


@pytest.fixture
def kannel_gateway(organization, settings, live_server):
    settings.SMSPORTAL_PUBLIC_BASE_URL = live_server.url  # Kannel calls the dlr-url and get-url here
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True  # Kannel listens on loopback
    gateway = GatewayFactory(
        organization=organization,
        type="kannel",
        name="Kannel",
        config={"urlTemplate": "http://127.0.0.1:9/cgi-bin/sendsms", "username": USERNAME, "from": OUR_NUMBER},
        secrets={"password": PASSWORD},
    )
    gateway.ensure_webhook_token()
    gateway.save()
    return gateway


@pytest.fixture
def kannel(kannel_gateway, live_server):
    """bearerbox + smsbox on free loopback ports, its sms-service pointed at our inbound URL."""
    if binaries() is None:
        service_unavailable("needs Kannel: apt-get install kannel kannel-extras (bearerbox, smsbox, fakesmsc)")
    box = KannelBox(inbound_url=gateway_webhook_url(gateway=kannel_gateway, kind="inbound", base_url=live_server.url))
    box.start()
    kannel_gateway.config = {**kannel_gateway.config, "urlTemplate": box.sendsms_url}
    kannel_gateway.save()
    yield box
    box.stop()


def _send(organization, gateway, body="Take your pill") -> OutboundMessage:
    return messages_queue(
        organization=organization, recipients=[PATIENT], body=body, source="portal", gateway=gateway
    ).messages[0]


def _status(message_id, status: str, kannel: KannelBox) -> OutboundMessage:
    found = wait_until(
        lambda: OutboundMessage.objects.filter(pk=message_id, status=status).first(),
        30,
        f"message {status} (Kannel logs:\n{kannel.log_tail()})",
    )
    return found


def test_send_goes_through_kannel_to_the_smsc_and_its_report_delivers_it(organization, kannel_gateway, kannel):
    kannel.phone()

    message = _send(organization, kannel_gateway)

    delivered = _status(message.pk, "delivered", kannel)
    assert delivered.provider_message_id == str(message.pk)  # Kannel's reports carry our id
    assert delivered.sent_at is not None and delivered.delivered_at is not None
    assert kannel.delivered() == [{"from": OUR_NUMBER, "to": PATIENT, "type": "text", "text": "Take your pill"}]


def test_a_text_that_needs_ucs2_reaches_the_phone_as_ucs2(organization, kannel_gateway, kannel):
    kannel.phone()

    message = _send(organization, kannel_gateway, body="Dawa yako ✓ 服药")

    _status(message.pk, "delivered", kannel)
    [got] = kannel.delivered()
    assert got["type"] == "ucs-2" and got["text"] == "Dawa yako ✓ 服药"


def test_a_reply_through_kannel_is_stored_once_and_reaches_the_plugin(organization, kannel_gateway, kannel):
    patient = PatientFactory(organization=organization, phone=PATIENT)
    receiver = PluginReceiver()
    try:
        registration_create(
            organization=organization,
            name="meds",
            url=receiver.url,
            entity_types=["patient"],
            actions=["_incomingSms"],
            max_attempts=3,
            timeout_seconds=2,
        )

        kannel.phone((PATIENT, OUR_NUMBER, "Taken"))

        stored = wait_until(
            lambda: InboundMessage.objects.filter(status="processed").first(),
            30,
            f"the reply stored and routed (Kannel logs:\n{kannel.log_tail()})",
        )
        assert (stored.originator, stored.text, stored.entity_id) == (PATIENT, "Taken", patient.id)
        assert stored.gateway_id == kannel_gateway.pk and stored.provider_message_id  # Kannel's %I
        [call] = receiver.wait_for(1)
        assert call.json["data"]["additionalData"]["metadata"]["messageBody"] == "Taken"
        assert PluginInvocation.objects.get().status == "succeeded"
    finally:
        receiver.close()
    assert InboundMessage.objects.count() == 1


def test_kannel_down_is_retried_and_sent_once_when_it_is_back(organization, kannel_gateway, kannel, settings):
    settings.SMSPORTAL_SEND_MAX_ATTEMPTS = 5
    kannel.phone()
    kannel.smsbox_stop()

    message = _send(organization, kannel_gateway)

    message.refresh_from_db()
    assert message.status == "queued" and message.next_attempt_at is not None  # temporary: retried later
    assert "unreachable" in message.error_reason
    kannel.smsbox_start()
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=None)  # due now
    outbound_deliver(message_ids=[str(message.pk)])

    _status(message.pk, "delivered", kannel)
    assert [m["to"] for m in kannel.delivered()] == [PATIENT]  # once


def test_kannel_down_past_the_retries_goes_to_the_fallback_never_twice(
    organization, kannel_gateway, kannel, settings, provider_simulator
):
    settings.SMSPORTAL_SEND_MAX_ATTEMPTS = 1
    fallback = GatewayFactory(
        organization=organization,
        type="bulksms",
        is_default=False,
        config={"urlTemplate": f"{provider_simulator.url}/v1/messages", "username": "id"},
        secrets={"password": "s"},
    )
    kannel_gateway.fallback = fallback
    kannel_gateway.save()
    kannel.phone()
    kannel.smsbox_stop()

    message = _send(organization, kannel_gateway)

    sent = wait_until(lambda: OutboundMessage.objects.filter(pk=message.pk, status="sent").first(), 30, "sent")
    assert sent.gateway_id == fallback.pk
    assert provider_simulator.received("bulksms") == {PATIENT: 1}
    kannel.smsbox_start()
    assert kannel.delivered() == []  # Kannel never had it
