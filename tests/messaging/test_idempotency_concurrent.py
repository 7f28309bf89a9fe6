"""Two simultaneous retries with one Idempotency-Key send one message (PostgreSQL: real concurrency)."""

import pytest
from rest_framework.test import APIClient

from gateways.providers.simulator import SimulatorAdapter
from messaging.models import OutboundMessage
from tests.concurrency import run_concurrently

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def post_once(api_key, path: str, body: dict, idempotency_key: str) -> tuple[int, dict]:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    response = client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=idempotency_key)
    return response.status_code, response.json()


def test_concurrent_requests_with_the_same_key_send_once(require_postgres, api_key, gateway):
    answers = run_concurrently(
        lambda _: post_once(
            api_key,
            "/notification/v1/sms/send",
            {"message": "Your 8am dose", "phoneNumber": "+12025550190"},
            "dose-2026-11-22-0800",
        ),
        4,
    )

    ids = {body.get("messageId") for status, body in answers if status == 200}
    assert len(answers) == 4
    assert all(status in (200, 409) for status, _ in answers), answers
    assert len(ids) == 1
    assert OutboundMessage.objects.count() == 1
    assert len(SimulatorAdapter.outbox) == 1


def test_concurrent_dhis2_sends_with_the_same_key_make_one_batch(require_postgres, api_key, gateway):
    answers = run_concurrently(
        lambda _: post_once(
            api_key,
            "/api/sms/outbound",
            {"message": "Clinic closed Monday", "recipients": ["+4791234567", "+4791234568"]},
            "abc-1",
        ),
        4,
    )

    batches = {body["response"]["batchId"] for status, body in answers if status == 200}
    assert len(answers) == 4
    assert all(status in (200, 409) for status, _ in answers), answers
    assert len(batches) == 1
    assert OutboundMessage.objects.count() == 2
    assert len(SimulatorAdapter.outbox) == 2
