"""A real Celery worker (2 processes) killed with SIGKILL mid-send. Messages whose in-flight group
never started are re-queued; a group in flight at the kill is resolved by its delivery reports
(our id in each Twilio callback URL) or, when the reports are lost, by the reconciler's lookup of
Twilio's message list. Every test ends with each message received by the provider exactly once."""

import os
import signal

import pytest

from messaging.models import OutboundMessage
from messaging.services.outbound import messages_queue
from tests.faults.conftest import assert_each_received_once, numbers, settle
from tests.messaging.workers import broker_mode, celery_worker
from tests.polling import wait_until

pytestmark = [pytest.mark.faults, pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def worker_env(live_server):
    return {"SMSPORTAL_PUBLIC_BASE_URL": live_server.url, "SMSPORTAL_HTTP_TIMEOUT": "3"}


def _queue(organization, count: int) -> list:
    result = messages_queue(organization=organization, recipients=numbers(count), body="Dose at 8", source="schedule")
    return [m.id for m in result.messages]


def _kill_when(worker, condition) -> None:
    wait_until(condition, 60, getattr(condition, "__qualname__", "the condition"), interval=0.01)
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=10)


def test_a_worker_killed_three_times_in_a_1000_message_send_loses_nothing_and_sends_nothing_twice(
    organization, twilio, provider_simulator, redis_url, settings, worker_env
):
    provider_simulator.behave(provider="twilio", delay=0.02)  # a provider that takes its time
    count = 1000
    with broker_mode(settings, redis_url):
        ids = _queue(organization, count)
        for share in (0.15, 0.45, 0.75):
            with celery_worker(redis_url=redis_url, extra_env=worker_env) as worker:
                # Killed at the moment the provider has received this share of the send.
                _kill_when(worker, lambda share=share: len(provider_simulator.messages) >= count * share)
            assert OutboundMessage.objects.filter(id__in=ids, status__in=["queued", "sending"]).exists()
        with celery_worker(redis_url=redis_url, extra_env=worker_env):
            settle(ids, timeout=120)

    assert_each_received_once(provider_simulator, numbers(count), "twilio")
    assert not OutboundMessage.objects.filter(id__in=ids, possible_duplicate=True).exists()


def test_messages_in_flight_at_the_kill_are_resolved_by_the_provider_lookup_when_reports_are_lost(
    organization, twilio, provider_simulator, redis_url, settings, worker_env
):
    provider_simulator.auto_report = None  # no delivery report ever comes
    count, before = 100, 20
    # After `before` requests, two groups hang: they are surely in flight when the worker dies,
    # and the provider still accepts them afterwards.
    provider_simulator.behave(provider="twilio", delay=2.0, after=before, times=32)
    with broker_mode(settings, redis_url):
        ids = _queue(organization, count)
        with celery_worker(redis_url=redis_url, extra_env=worker_env) as worker:
            _kill_when(worker, lambda: len(provider_simulator.requests_for("twilio")) > before)
        with celery_worker(redis_url=redis_url, extra_env=worker_env):
            settle(ids, timeout=90, done=("sent", "delivered"))

    assert_each_received_once(provider_simulator, numbers(count), "twilio")
    resolved = OutboundMessage.objects.filter(id__in=ids, unknown_at__isnull=False)
    assert resolved.exists() and set(resolved.values_list("status", flat=True)) == {"delivered"}  # by the lookup
