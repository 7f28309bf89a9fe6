"""Message validity: `validUntil` in both send APIs, per-source defaults, `expired` (never sent late,
reported), and the validity period handed to providers that take one (Twilio)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from gateways.providers.base import OutboundSms
from messaging.models import OutboundMessage
from messaging.services.delivery import outbound_deliver
from messaging.services.outbound import messages_queue
from messaging.services.reconcile import outbound_sweep
from plugins.models import PluginInvocation
from tests.factories import GatewayFactory, PluginRegistrationFactory
from tests.gateways.test_provider_twilio import SID
from tests.gateways.test_provider_twilio import adapter_for as twilio_adapter

pytestmark = pytest.mark.django_db
Status = OutboundMessage.Status
BIOT = "/notification/v1/sms/send"
DHIS2 = "/api/sms/outbound"


def in_hours(hours: float) -> str:
    return (timezone.now() + timedelta(hours=hours)).isoformat()


def test_biot_send_stores_valid_until_and_defaults_to_24_hours(api_client, gateway):
    given = in_hours(2)
    first = api_client.post(BIOT, {"message": "hi", "phoneNumber": "+12025550101", "validUntil": given}, format="json")
    second = api_client.post(BIOT, {"message": "hi", "phoneNumber": "+12025550102"}, format="json")

    assert OutboundMessage.objects.get(pk=first.json()["messageId"]).valid_until == parse_datetime(given)
    default = OutboundMessage.objects.get(pk=second.json()["messageId"]).valid_until
    assert timedelta(hours=23, minutes=59) < default - timezone.now() <= timedelta(hours=24)


@pytest.mark.parametrize("value", [in_hours(-1), "tomorrow", "2026-13-01T00:00:00Z", 1765105200, ["x"], ""])
def test_biot_send_refuses_a_bad_or_past_valid_until_naming_the_field(api_client, gateway, value):
    response = api_client.post(
        BIOT, {"message": "hi", "phoneNumber": "+12025550101", "validUntil": value}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["field"] == "validUntil" or "validUntil" in response.json().get("fields", {})
    assert not OutboundMessage.objects.exists()


def test_dhis2_send_takes_valid_until_in_json_and_query_forms(api_client, gateway):
    given = in_hours(3)
    json_form = api_client.post(
        DHIS2, {"message": "hi", "recipients": ["+12025550101"], "validUntil": given}, format="json"
    )
    assert json_form.status_code == 200, json_form.json()
    past = api_client.post(
        DHIS2, {"message": "hi", "recipients": ["+12025550102"], "validUntil": in_hours(-1)}, format="json"
    )
    query_past = api_client.post(f"{DHIS2}?recipient=%2B12025550103&message=hi&validUntil=yesterday")

    for refused in (past, query_past):
        assert refused.status_code == 400, refused.json()
        assert "validUntil" in str(refused.json())
    assert OutboundMessage.objects.get().valid_until == parse_datetime(given)
    listed = api_client.get(f"{DHIS2}?fields=*").json()["outboundsmss"][0]
    assert listed["validUntil"] is not None


def test_a_message_whose_gateway_was_down_past_its_validity_is_never_sent(provider_simulator, organization):
    sim = provider_simulator
    """The gateway answers 503 until after the message's validity: the stand-in never receives it."""
    gateway = GatewayFactory(
        organization=organization,
        type="twilio",
        config={"accountSid": SID, "from": "+15550001111", "urlTemplate": sim.url},
        secrets={"authToken": "tok-auth"},
    )
    PluginRegistrationFactory(organization=organization, actions=["_smsStatus"], entity_types=["patient"])
    sim.behave(provider="twilio", status=503, times=1)
    result = messages_queue(
        organization=organization,
        recipients=["+12025550101"],
        body="dose at 8",
        source="system",
        gateway=gateway,
        valid_until=timezone.now() + timedelta(minutes=10),
    )
    (message_id,) = [str(i) for i, _, _ in result.stored]
    assert outbound_deliver(message_ids=[message_id]) is not None  # 503: queued again for a retry
    # Time passes: the retry comes after the validity ended (the provider is fine again by then).
    OutboundMessage.objects.filter(pk=message_id).update(
        valid_until=timezone.now() - timedelta(seconds=1), next_attempt_at=timezone.now()
    )

    assert outbound_deliver(message_ids=[message_id]) is None

    message = OutboundMessage.objects.get(pk=message_id)
    assert message.status == Status.EXPIRED and message.expired_at is not None
    assert "validUntil" in message.error_reason
    assert sim.received() == {}
    report = PluginInvocation.objects.get(outbound_message_id=message_id)
    assert report.payload["data"]["additionalData"]["metadata"]["status"] == "expired"


def test_the_sweeper_expires_queued_messages_once(organization, gateway):
    result = messages_queue(
        organization=organization,
        recipients=["+12025550101", "+12025550102"],
        body="hi",
        source="system",
        not_before=timezone.now() + timedelta(hours=1),  # held (quiet hours)
        valid_until=timezone.now() + timedelta(minutes=30),
    )
    ids = [i for i, _, _ in result.stored]
    OutboundMessage.objects.filter(pk=ids[0]).update(valid_until=timezone.now() - timedelta(seconds=1))

    assert outbound_sweep()["expired"] == 1
    assert outbound_sweep()["expired"] == 0
    assert OutboundMessage.objects.get(pk=ids[0]).status == Status.EXPIRED
    assert OutboundMessage.objects.get(pk=ids[1]).status == Status.QUEUED


def test_a_late_provider_report_still_moves_an_expired_message(organization, gateway):
    """Expired means never handed over as far as we know; a report proving otherwise wins."""
    from gateways.providers.base import StatusUpdate
    from messaging.services.status import outbound_status_apply

    message = OutboundMessage.objects.create(
        organization=organization, gateway=gateway, recipient="+12025550101", body="x", source="system",
        status=Status.EXPIRED, expired_at=timezone.now(),
    )  # fmt: skip
    update = StatusUpdate(provider_message_id="sim-1", status=Status.DELIVERED, reference=str(message.id))
    assert outbound_status_apply(gateway=gateway, update=update).status == Status.DELIVERED


def test_twilio_gets_the_remaining_validity_as_validity_period(provider_simulator):
    sim = provider_simulator
    adapter = twilio_adapter(sim)
    soon = OutboundSms(
        reference="1" * 32, to="+15558675310", text="x", valid_until=timezone.now() + timedelta(minutes=10)
    )
    later = OutboundSms(reference="2" * 32, to="+15558675310", text="x", valid_until=timezone.now() + timedelta(days=1))

    adapter.send_batch([soon])
    adapter.send_batch([later])

    first, second = (r.form() for r in sim.requests_for("twilio"))
    assert 598 <= int(first["ValidityPeriod"][0]) <= 600
    assert "ValidityPeriod" not in second  # Twilio's own maximum (10 h) is stricter already
