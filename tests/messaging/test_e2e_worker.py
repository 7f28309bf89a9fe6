"""End to end on the real path: API → PostgreSQL outbox → Redis → Celery worker process → a gateway
over real HTTP on 127.0.0.1 → `sent`. Needs PostgreSQL and Redis (CI: SMSPORTAL_REQUIRE_SERVICES=1)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gateways.providers.simulator import SimulatorAdapter
from messaging.models import OutboundMessage
from messaging.services.outbound import outbound_deliver, outbound_sweep
from tests.concurrency import run_concurrently
from tests.factories import GatewayFactory
from tests.messaging.workers import broker_mode, celery_worker
from tests.polling import wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bulksms_gateway(organization, provider_simulator):
    return GatewayFactory(
        organization=organization,
        type="bulksms",
        name="BulkSMS (simulated)",
        config={"urlTemplate": f"{provider_simulator.url}/v1/messages", "username": "demo"},
        secrets={"password": "secret"},
    )


@pytest.fixture
def worker(require_postgres, redis_url, settings):
    with broker_mode(settings, redis_url), celery_worker(redis_url=redis_url) as process:
        yield process


def _sent_recipients(simulator) -> list[str]:
    return [item["to"] for r in simulator.requests_for("bulksms") for item in r.json()]


def test_messages_posted_to_dhis2_outbound_are_sent_by_a_worker(
    api_client, bulksms_gateway, provider_simulator, worker
):
    recipients = [f"+1202555{n:04d}" for n in range(250)]

    response = api_client.post(
        "/api/sms/outbound", {"message": "Clinic closed Monday", "recipients": recipients}, format="json"
    )

    assert response.status_code == 200, response.content
    ids = [m["id"] for m in response.json()["response"]["messages"]]
    wait_until(
        lambda: OutboundMessage.objects.filter(id__in=ids, status="sent").count() == 250, 60, "all 250 messages sent"
    )
    sent = OutboundMessage.objects.filter(id__in=ids)
    assert all(m.provider_message_id in provider_simulator.messages for m in sent)
    assert sorted(_sent_recipients(provider_simulator)) == recipients  # each exactly once
    assert max(len(r.json()) for r in provider_simulator.requests_for("bulksms")) <= 200
    assert worker.poll() is None


def test_sweeper_recovers_a_lost_dispatch(organization, bulksms_gateway, provider_simulator, worker, settings):
    # Rows reserved by a dispatch whose task was lost (worker killed, broker restarted).
    long_ago = timezone.now() - timedelta(seconds=settings.SMSPORTAL_QUEUED_TIMEOUT_SECONDS * 2)
    lost = [
        OutboundMessage.objects.create(
            organization=organization,
            recipient=f"+120255501{n:02d}",
            body="Reminder",
            gateway=bulksms_gateway,
            source="schedule",
            dispatched_at=long_ago,
        )
        for n in range(3)
    ]

    counts = outbound_sweep()  # what beat runs every 30 s

    assert counts["requeued"] == 3
    # The worker process may still be starting (slow on a loaded machine).
    wait_until(
        lambda: OutboundMessage.objects.filter(id__in=[m.id for m in lost], status="sent").count() == 3,
        60,
        "the three requeued messages sent",
    )
    assert len(_sent_recipients(provider_simulator)) == 3


def test_two_concurrent_deliveries_of_the_same_batch_send_each_message_once(
    require_postgres, organization, bulksms_gateway, provider_simulator
):
    messages = [
        OutboundMessage.objects.create(
            organization=organization,
            recipient=f"+120255502{n:02d}",
            body="Hi",
            gateway=bulksms_gateway,
            source="portal",
        )
        for n in range(20)
    ]
    ids = [str(m.id) for m in messages]
    provider_simulator.behave(provider="bulksms", delay=0.3)  # both workers are mid-flight together
    run_concurrently(lambda _: outbound_deliver(message_ids=ids), 2)

    assert sorted(_sent_recipients(provider_simulator)) == sorted(m.recipient for m in messages)
    assert OutboundMessage.objects.filter(id__in=ids, status="sent", attempts=1).count() == 20
    assert SimulatorAdapter.outbox == []
