"""Provider faults, on the real send path (eager tasks, HTTP to the stand-in, reports through the
live server): a hang past the timeout, an answer dropped after the provider accepted, 500s and
429s. Each ends with every message delivered, received by the provider exactly once."""

import pytest

from messaging.models import OutboundMessage
from messaging.services.outbound import messages_queue
from tests.faults.conftest import assert_each_received_once, numbers, settle

pytestmark = [pytest.mark.faults, pytest.mark.services, pytest.mark.django_db(transaction=True)]
COUNT = 40


def _send(organization, gateway) -> list:
    result = messages_queue(
        organization=organization, recipients=numbers(COUNT), body="Clinic at 9", source="schedule", gateway=gateway
    )
    return [m.id for m in result.messages]


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"delay": 1.5, "times": 16}, id="hang-past-the-timeout"),
        pytest.param({"drop": True, "times": 16}, id="drop-after-accept"),
    ],
)
def test_an_ambiguous_answer_ends_delivered_by_its_report(organization, twilio, provider_simulator, fault):
    provider_simulator.behave(provider="twilio", **fault)

    ids = _send(organization, twilio)

    # Each one's report, matched by our id in its callback URL, resolves it...
    settle(ids)
    assert_each_received_once(provider_simulator, numbers(COUNT), "twilio")
    # ...after the provider had it but we could not know: `unknown` (one in-flight group), never resent.
    assert OutboundMessage.objects.filter(id__in=ids, unknown_at__isnull=False).count() == 16


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 500, "times": 16}, id="500"),
        pytest.param({"status": 429, "retry_after": "1", "times": 16}, id="429-retry-after"),
    ],
)
def test_refused_sends_are_retried_and_delivered_once(organization, twilio, provider_simulator, fault):
    provider_simulator.behave(provider="twilio", **fault)

    ids = _send(organization, twilio)

    settle(ids)
    assert_each_received_once(provider_simulator, numbers(COUNT), "twilio")
    assert len(provider_simulator.requests_for("twilio")) == COUNT + 16  # the refused group, tried again


def test_a_batch_provider_hang_ends_delivered_by_its_report(organization, bulksms, provider_simulator):
    provider_simulator.behave(provider="bulksms", delay=1.5, times=1)

    ids = _send(organization, bulksms)

    settle(ids)  # BulkSMS reports carry (a prefix of) our id as userSuppliedId
    assert_each_received_once(provider_simulator, numbers(COUNT), "bulksms")
    assert OutboundMessage.objects.filter(id__in=ids, unknown_at__isnull=False).count() == COUNT
