"""The real path for reminders: beat tasks on Redis, two Celery worker processes, PostgreSQL, and a
gateway over HTTP on 127.0.0.1. The same tick published several times at once sends each reminder
once. Needs PostgreSQL and Redis (CI: SMSPORTAL_REQUIRE_SERVICES=1)."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from adherence.models import DoseSlot, MedicationSchedule
from adherence.services import schedule_save
from adherence.tasks import adherence_tick_task
from messaging.models import OutboundMessage
from tests.factories import GatewayFactory, PatientFactory
from tests.messaging.workers import broker_mode, celery_worker
from tests.polling import wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker(require_postgres, redis_url, settings):
    with broker_mode(settings, redis_url), celery_worker(redis_url=redis_url, concurrency=2) as process:
        yield process


def test_ticks_published_by_two_beats_send_each_due_reminder_once(organization, provider_simulator, worker):
    GatewayFactory(
        organization=organization, type="bulksms", name="BulkSMS (simulated)",
        config={"urlTemplate": f"{provider_simulator.url}/v1/messages", "username": "demo"},
        secrets={"password": "secret"},
    )  # fmt: skip
    now = timezone.now()
    due = []
    for n in range(5):
        patient = PatientFactory(organization=organization, phone=f"+1202555{n + 300:04d}")
        schedule = schedule_save(
            schedule=MedicationSchedule(
                organization=organization, patient=patient, medication="Metformin", start_date=date(2020, 1, 1),
                dose_times=[(now + timedelta(hours=3)).strftime("%H:%M")], timezone="UTC",
            )
        )  # fmt: skip
        slot = DoseSlot.objects.filter(schedule=schedule).order_by("scheduled_at").first()
        DoseSlot.objects.filter(pk=slot.pk).update(
            scheduled_at=now - timedelta(minutes=1), window_closes_at=now + timedelta(minutes=59)
        )
        due.append(slot.pk)

    for _ in range(4):  # two beats, each publishing twice (a restart, a retry)
        adherence_tick_task.delay()

    def sent_numbers():
        return sorted(item["to"] for r in provider_simulator.requests_for("bulksms") for item in r.json())

    wait_until(lambda: len(sent_numbers()) >= 5, 30, "five reminders at the provider")
    wait_until(
        lambda: DoseSlot.objects.filter(pk__in=due, reminder__status="sent").count() == 5, 30, "five reminders sent"
    )
    adherence_tick_task.delay()
    wait_until(
        lambda: not DoseSlot.objects.filter(status="scheduled", scheduled_at__lte=timezone.now()).exists(),
        10,
        "no due dose slot left scheduled",
    )
    assert sent_numbers() == [f"+1202555{n + 300:04d}" for n in range(5)]
    assert DoseSlot.objects.filter(pk__in=due, status="reminded").count() == 5
    # Let the worker go idle before the fixture stops it.
    wait_until(
        lambda: not OutboundMessage.objects.filter(status__in=["queued", "sending"]).exists(), 10, "the outbox drained"
    )
