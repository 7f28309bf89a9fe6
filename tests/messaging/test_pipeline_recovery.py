"""What a killed worker or a lost task leaves behind is recovered, never guessed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gateways.exceptions import GatewayTemporaryError
from gateways.providers.simulator import SimulatorAdapter
from messaging.models import OutboundMessage
from messaging.services.outbound import outbound_deliver, outbound_sweep
from tests.factories import GatewayFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _message(organization, gateway, **fields):
    return OutboundMessage.objects.create(
        organization=organization, recipient="+12025550180", body="Hi", source="portal", gateway=gateway, **fields
    )


def _abandoned(settings):
    return timezone.now() - timedelta(seconds=settings.SMSPORTAL_SEND_LEASE_SECONDS + 5)


def test_sending_row_whose_provider_call_never_started_is_resent(organization, gateway, settings):
    message = _message(organization, gateway, status="sending", claimed_at=_abandoned(settings), attempts=1)

    outbound_sweep()

    message.refresh_from_db()
    assert message.status == "sent" and len(SimulatorAdapter.outbox) == 1


def test_sending_row_mid_call_is_unknown_unless_the_provider_dedupes(organization, settings):
    bulksms = GatewayFactory(organization=organization, type="bulksms", config={"urlTemplate": "http://127.0.0.1:9"})
    started = _abandoned(settings)
    message = _message(organization, bulksms, status="sending", claimed_at=started, send_started_at=started)

    outbound_sweep()

    message.refresh_from_db()
    assert message.status == "unknown" and message.unknown_at is not None
    assert "reconciling" in message.error_reason


def test_sending_row_mid_call_is_resent_when_the_provider_dedupes_on_our_reference(organization, gateway, settings):
    started = _abandoned(settings)
    message = _message(organization, gateway, status="sending", claimed_at=started, send_started_at=started)

    outbound_sweep()

    message.refresh_from_db()
    assert message.status == "sent"  # the simulator declares dedupes_on_reference


def test_a_retry_clears_the_previous_attempts_send_mark(organization, gateway, monkeypatch):
    """A worker killed after claiming attempt 2, before calling the provider, must read as 'never started'."""
    calls = []

    def fail_once(self, messages):
        calls.append(1)
        raise GatewayTemporaryError("HTTP 503")

    monkeypatch.setattr(SimulatorAdapter, "send_batch", fail_once)
    message = _message(organization, gateway)
    outbound_deliver(message_ids=[str(message.pk)])
    message.refresh_from_db()
    assert message.status == "queued" and message.send_started_at is not None

    monkeypatch.setattr("messaging.services.delivery._deliver_for_gateway", lambda messages, token: None)  # "killed"
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=None)
    outbound_deliver(message_ids=[str(message.pk)])

    message.refresh_from_db()
    assert message.status == "sending" and message.send_started_at is None


def test_queued_row_with_a_provider_id_is_never_claimed_again(organization, gateway):
    message = _message(organization, gateway, provider_message_id="sim-already")

    outbound_deliver(message_ids=[str(message.pk)])

    assert SimulatorAdapter.outbox == []
