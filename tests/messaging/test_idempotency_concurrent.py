"""Two simultaneous retries with one Idempotency-Key send one message (PostgreSQL: real concurrency)."""

import threading

import pytest
from rest_framework.test import APIClient

from gateways.providers.simulator import SimulatorAdapter
from messaging.models import OutboundMessage

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_concurrent_requests_with_the_same_key_send_once(require_postgres, api_key, gateway):
    barrier = threading.Barrier(4)
    answers = []

    def send():
        from django.db import connection

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
        try:
            barrier.wait(timeout=10)
            response = client.post(
                "/notification/v1/sms/send",
                {"message": "Your 8am dose", "phoneNumber": "+12025550190"},
                format="json",
                HTTP_IDEMPOTENCY_KEY="dose-2026-11-22-0800",
            )
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    ids = {body.get("messageId") for status, body in answers if status == 200}
    assert len(answers) == 4
    assert all(status in (200, 409) for status, _ in answers), answers
    assert len(ids) == 1
    assert OutboundMessage.objects.count() == 1
    assert len(SimulatorAdapter.outbox) == 1


def test_concurrent_dhis2_sends_with_the_same_key_make_one_batch(require_postgres, api_key, gateway):
    barrier = threading.Barrier(4)
    answers = []

    def send():
        from django.db import connection

        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
        try:
            barrier.wait(timeout=10)
            response = client.post(
                "/api/sms/outbound",
                {"message": "Clinic closed Monday", "recipients": ["+4791234567", "+4791234568"]},
                format="json",
                HTTP_IDEMPOTENCY_KEY="abc-1",
            )
            answers.append((response.status_code, response.json()))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    batches = {body["response"]["batchId"] for status, body in answers if status == 200}
    assert len(answers) == 4
    assert all(status in (200, 409) for status, _ in answers), answers
    assert len(batches) == 1
    assert OutboundMessage.objects.count() == 2
    assert len(SimulatorAdapter.outbox) == 2
