"""End to end per provider: send → simulator → delivery report over HTTP → message delivered."""

import pytest

from gateways.services import gateway_webhook_url
from messaging.models import OutboundMessage
from messaging.services.outbound import messages_queue
from tests.factories import GatewayFactory
from tests.gateways.polling import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _gateway(organization, type_, config, secrets):
    gateway = GatewayFactory(organization=organization, type=type_, config=config, secrets=secrets)
    gateway.ensure_webhook_token()
    gateway.save()
    return gateway


def test_bulksms_message_is_delivered(organization, sim, live_server):
    gateway = _gateway(
        organization,
        "bulksms",
        {"urlTemplate": f"{sim.url}/v1/messages", "username": "id"},
        {"password": "secret"},
    )
    sim.status_urls["bulksms"] = gateway_webhook_url(gateway=gateway, kind="status", base_url=live_server.url)
    sim.auto_report = "delivered"

    message = messages_queue(
        organization=organization, recipients=["+12025550101"], body="Take your pill", source="portal"
    ).messages[0]

    delivered = wait_for(lambda: OutboundMessage.objects.filter(pk=message.pk, status="delivered").first())
    assert delivered.provider_message_id in sim.messages
    assert delivered.delivered_at is not None


def test_generic_http_message_is_delivered(organization, sim, live_server):
    gateway = _gateway(
        organization,
        "http",
        {
            "urlTemplate": f"{sim.url}/generic/send",
            "contentType": "APPLICATION_JSON",
            "configurationTemplate": '{"id": "${id}", "to": "${recipients}", "text": "${text}"}',
            "responseIdField": "id",
        },
        {},
    )
    sim.status_urls["generic"] = gateway_webhook_url(gateway=gateway, kind="status", base_url=live_server.url)
    sim.auto_report = "delivered"

    message = messages_queue(
        organization=organization, recipients=["+12025550101"], body="Take your pill", source="portal"
    ).messages[0]

    assert wait_for(lambda: OutboundMessage.objects.filter(pk=message.pk, status="delivered").exists())
