"""Redis restarted with queued work, and PostgreSQL connections killed mid-transaction, while a
real Celery worker sends: every message ends sent once (the outbox rows are the truth; the sweeper
re-dispatches what the broker lost, and re-queues or reconciles what a dead connection cut)."""

import time

import pytest
from django.db import connection

from messaging.models import OutboundMessage
from messaging.services.dispatch import outbound_dispatch
from messaging.services.outbound import messages_queue
from tests.faults.conftest import assert_each_received_once, beat, numbers, settle
from tests.messaging.workers import broker_mode, celery_worker
from tests.polling import wait_until
from tests.redis_server import free_port, redis_server

pytestmark = [pytest.mark.faults, pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_redis_restarted_with_queued_work_loses_no_message(
    organization, bulksms, provider_simulator, settings, redis_url
):
    count = 200
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with redis_server(port):
        with broker_mode(settings, url):
            ids = [
                m.id
                for m in messages_queue(
                    organization=organization, recipients=numbers(count), body="Dose at 8", source="schedule"
                ).messages
            ]
            outbound_dispatch()  # every row reserved, its delivery task waiting in Redis...
            assert not OutboundMessage.objects.filter(id__in=ids, dispatched_at__isnull=True).exists()
    # ...and Redis goes away with all of it.
    with redis_server(port), broker_mode(settings, url), celery_worker(redis_url=url):
        settle(ids, timeout=90)
    assert_each_received_once(provider_simulator, numbers(count), "bulksms")


def _terminate_other_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_database_connections_killed_mid_send_lose_nothing_and_send_nothing_twice(
    organization, twilio, provider_simulator, settings, redis_url, live_server
):
    count = 300
    provider_simulator.behave(provider="twilio", delay=0.02)
    env = {"SMSPORTAL_PUBLIC_BASE_URL": live_server.url, "SMSPORTAL_HTTP_TIMEOUT": "3"}
    with broker_mode(settings, redis_url), celery_worker(redis_url=redis_url, extra_env=env):
        ids = [
            m.id
            for m in messages_queue(
                organization=organization, recipients=numbers(count), body="Dose at 8", source="schedule"
            ).messages
        ]
        killed = 0
        for share in (0.2, 0.5, 0.8):
            # Beat's sweeper runs meanwhile: a cut task's messages are sent by the next one.
            wait_until(
                lambda share=share: beat() and len(provider_simulator.messages) >= count * share,
                60,
                f"{share:.0%} of the messages at the provider",
            )
            killed += _terminate_other_connections()  # the worker's, mid-transaction or mid-send
        assert killed >= 3
        started = time.monotonic()
        # Reports cut with the live server's connection are lost: the lookup resolves those.
        settle(ids, timeout=120, done=("sent", "delivered"))
        assert time.monotonic() - started < 120
    assert_each_received_once(provider_simulator, numbers(count), "twilio")
    assert not OutboundMessage.objects.filter(id__in=ids, status="unknown").exists()
