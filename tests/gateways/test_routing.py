"""Routing: fallback after retries, down-marking, never re-sending an accepted message, rate pacing."""

import pytest

from gateways.providers.base import OutboundSms
from gateways.providers.bulksms import BulkSmsAdapter
from gateways.routing import RATE_KEY, rate_limit_reserve, send_batch_paced
from messaging.models import OutboundMessage
from messaging.services.delivery import outbound_deliver
from messaging.services.outbound import messages_queue
from tests.factories import GatewayFactory
from tests.gateways.conftest import build_gateway

pytestmark = pytest.mark.django_db(transaction=True)


def _retry_now(message):
    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=None)
    outbound_deliver(message_ids=[str(message.pk)])
    message.refresh_from_db()
    return message


def test_transient_failures_past_retries_go_to_the_fallback(organization, sim, pair, settings):
    settings.SMSPORTAL_SEND_MAX_ATTEMPTS = 2
    primary, fallback = pair
    sim.behave(provider="bulksms", status=503)

    message = messages_queue(
        organization=organization, recipients=["+12025550101"], body="Hi", source="portal"
    ).messages[0]
    message = _retry_now(message)  # second and last attempt on the primary → rerouted and sent (eager)

    assert message.gateway_id == fallback.pk and message.status == "sent"
    assert (
        message.provider_message_id in sim.messages
        and sim.messages[message.provider_message_id].provider == "clickatell"
    )
    assert len(sim.requests_for("bulksms")) == 2


def test_a_message_the_primary_accepted_is_never_sent_by_the_fallback(organization, sim, settings):
    settings.SMSPORTAL_SEND_MAX_ATTEMPTS = 1
    fallback = GatewayFactory(
        organization=organization,
        type="clickatell",
        is_default=False,
        config={"urlTemplate": f"{sim.url}/messages"},
        secrets={"authToken": "k"},
    )
    GatewayFactory(
        organization=organization,
        type="twilio",
        fallback=fallback,
        config={"urlTemplate": sim.url, "accountSid": "AC1", "from": "+12025550100"},
        secrets={"authToken": "t"},
    )
    sim.behave(provider="twilio", status=503, times=1)  # one of the three requests fails transiently

    result = messages_queue(
        organization=organization,
        recipients=["+12025550101", "+12025550102", "+12025550103"],
        body="Hi",
        source="portal",
    )

    rows = {m.recipient: m for m in OutboundMessage.objects.filter(batch_id=result.messages[0].batch_id)}
    by_gateway = sorted(m.gateway_id == fallback.pk for m in rows.values())
    assert by_gateway == [False, False, True]
    assert all(m.status == "sent" for m in rows.values())
    assert len(sim.requests_for("clickatell")) == 1
    assert sum(1 for m in sim.messages.values() if m.provider == "clickatell") == 1


def test_an_ambiguous_send_is_never_rerouted(organization, sim, pair, settings):
    settings.SMSPORTAL_SEND_MAX_ATTEMPTS = 1
    settings.SMSPORTAL_HTTP_TIMEOUT = 0.3
    sim.behave(provider="bulksms", delay=1.0, times=1)

    message = messages_queue(
        organization=organization, recipients=["+12025550101"], body="Hi", source="portal"
    ).messages[0]

    message.refresh_from_db()
    assert message.status == "unknown" and message.gateway_id == pair[0].pk
    assert sim.requests_for("clickatell") == []


def test_repeated_transient_failures_mark_the_gateway_down_and_send_via_fallback(organization, sim, pair, settings):
    settings.SMSPORTAL_GATEWAY_DOWN_AFTER = 2
    primary, fallback = pair
    sim.behave(provider="bulksms", status=502, times=2)

    for n in range(2):
        messages_queue(organization=organization, recipients=[f"+1202555010{n}"], body="Hi", source="portal")
    primary.refresh_from_db()
    assert primary.down_until is not None and primary.consecutive_failures == 2
    calls_before = len(sim.requests_for("bulksms"))

    # A queued message of the down gateway is handed to the fallback without calling the primary.
    queued = OutboundMessage.objects.filter(gateway=primary, status="queued").first()
    queued = _retry_now(queued)
    assert queued.gateway_id == fallback.pk and queued.status == "sent"
    assert len(sim.requests_for("bulksms")) == calls_before


def test_success_clears_the_failure_count(organization, sim, pair, settings):
    primary, _ = pair
    sim.behave(provider="bulksms", status=502, times=1)
    message = messages_queue(
        organization=organization, recipients=["+12025550101"], body="Hi", source="portal"
    ).messages[0]
    primary.refresh_from_db()
    assert primary.consecutive_failures == 1

    _retry_now(message)

    primary.refresh_from_db()
    assert primary.consecutive_failures == 0 and primary.down_until is None


def test_rate_limited_batch_goes_out_in_small_paced_chunks(sim):
    adapter = BulkSmsAdapter(
        build_gateway(
            "bulksms",
            config={"urlTemplate": f"{sim.url}/v1/messages", "username": "u"},
            secrets={"password": "p"},
            rate_limit_per_second=50,
        )
    )
    messages = [OutboundSms(reference=f"r{n}", to=f"+2700123{n:04d}", text="Hi") for n in range(30)]

    results = send_batch_paced(adapter, messages)

    assert [len(r.json()) for r in sim.requests_for("bulksms")] == [10, 10, 10]
    assert all(r.accepted for r in results) and len(results) == 30


def test_a_failing_later_chunk_keeps_the_accepted_ones(sim):
    adapter = BulkSmsAdapter(
        build_gateway(
            "bulksms",
            config={"urlTemplate": f"{sim.url}/v1/messages", "username": "u"},
            secrets={"password": "p"},
            rate_limit_per_second=50,
        )
    )
    messages = [OutboundSms(reference=f"r{n}", to=f"+2700123{n:04d}", text="Hi") for n in range(30)]
    sim.behave(provider="bulksms", status=503, after=1)  # the first chunk goes through

    results = send_batch_paced(adapter, messages)

    accepted = [r for r in results if r.accepted]
    deferred = [r for r in results if r.temporary]
    assert len(accepted) == 10 and len(deferred) == 20
    assert {r.reference for r in accepted} == {f"r{n}" for n in range(10)}


def test_reservations_are_shared_through_redis(redis_url, settings, organization):
    import redis

    settings.REDIS_URL = redis_url
    gateway = GatewayFactory(organization=organization, rate_limit_per_second=50)
    redis.Redis.from_url(redis_url).delete(RATE_KEY.format(gateway.pk))

    first = rate_limit_reserve(gateway, 10)
    second = rate_limit_reserve(gateway, 10)
    third = rate_limit_reserve(gateway, 10)

    # 10 messages at 50/s take 0.2 s of budget: each reservation starts where the previous ends.
    assert first == pytest.approx(0.0, abs=0.05)
    assert second == pytest.approx(0.2, abs=0.05)
    assert third == pytest.approx(0.4, abs=0.05)
    assert redis.Redis.from_url(redis_url).get(RATE_KEY.format(gateway.pk)) is not None


def test_new_messages_of_a_down_gateway_start_on_its_usable_fallback(organization):
    from datetime import timedelta

    from django.utils import timezone

    from gateways.selectors import gateway_for_send

    fallback = GatewayFactory(organization=organization, is_default=False)
    primary = GatewayFactory(
        organization=organization, fallback=fallback, down_until=timezone.now() + timedelta(minutes=1)
    )

    assert gateway_for_send(organization=organization) == fallback
    fallback.is_active = False
    fallback.save()
    assert gateway_for_send(organization=organization) == primary  # an inactive fallback is not used
