"""The embedded mode (`make run`: eager Celery, no broker) honours a retry's countdown: a send or a
plugin call that met a temporary error is tried again after the documented backoff, not at the
next 30 s sweep. No beat runs in these tests, so only the countdown timer can make the retry."""

import time
from datetime import timedelta

import pytest
from celery import shared_task
from django.utils import timezone

from gateways.providers.base import InboundSms
from messaging.models import OutboundMessage
from messaging.services.outbound import messages_queue
from messaging.services.receive import inbound_receive
from plugins.models import PluginInvocation
from plugins.registrations import registration_create
from smsportal.eager import countdowns
from tests.factories import GatewayFactory, PatientFactory
from tests.plugins.receiver import PluginReceiver
from tests.polling import wait_until

RAN: list[float] = []


@shared_task
def record_run() -> None:
    RAN.append(time.monotonic())


@pytest.fixture
def timer():
    """The countdown timer, as `make run` starts it with the embedded beat."""
    countdowns.start()
    yield countdowns
    countdowns.stop()


def test_an_eager_task_with_a_countdown_waits_for_it_and_one_without_runs_at_once(timer):
    RAN.clear()
    enqueued = time.monotonic()

    record_run.apply_async(countdown=0.4)
    record_run.delay()

    assert len(RAN) == 1 and timer.pending() == 1  # the plain one ran inline; the other waits
    wait_until(lambda: len(RAN) == 2, 5, "the countdown task")
    assert RAN[1] - enqueued >= 0.4


def test_without_the_timer_eager_tasks_keep_celerys_behaviour():
    """Tests, shell and management commands: a countdown task runs at once (nothing would run it later)."""
    RAN.clear()

    record_run.apply_async(countdown=30)

    assert len(RAN) == 1 and countdowns.pending() == 0


def test_stopping_the_timer_drops_what_is_pending(timer):
    RAN.clear()
    record_run.apply_async(countdown=0.3)

    timer.stop()

    # Nothing left to run it and no thread to run it (a restart of the process: the sweeps recover
    # the rows, which keep their next_attempt_at).
    assert timer.pending() == 0 and not timer.running and RAN == []


@pytest.mark.django_db(transaction=True)
def test_a_send_refused_with_a_temporary_error_is_retried_after_its_backoff(organization, provider_simulator, timer):
    gateway = GatewayFactory(
        organization=organization,
        type="twilio",
        name="Twilio (stand-in)",
        config={"accountSid": "AC" + "f" * 32, "from": "+15550001111", "urlTemplate": provider_simulator.url},
        secrets={"authToken": "token"},
    )
    gateway.ensure_webhook_token()
    gateway.save()
    provider_simulator.behave(provider="twilio", status=500, times=1)

    message = messages_queue(
        organization=organization, recipients=["+12025550143"], body="Clinic at 9", source="api", gateway=gateway
    ).messages[0]

    message.refresh_from_db()
    assert (message.status, message.attempts) == ("queued", 1)  # refused once, waiting for its backoff
    due = message.next_attempt_at.timestamp()
    refused_at = provider_simulator.requests_for("twilio")[0].at
    # The documented backoff of a first retry: 2 s scaled by 0.5–1.0 (docs/gateways.md), counted
    # from when the refusal was recorded (a loaded machine adds a moment after the request).
    assert 1.0 <= due - refused_at <= 3.0

    wait_until(lambda: OutboundMessage.objects.filter(pk=message.pk, status="sent").exists(), 10, "the retried send")
    first, second = provider_simulator.requests_for("twilio")
    assert second.at >= due - 0.05  # not before it was due...
    assert second.at - first.at < 5  # ...and not at a sweep 30 s later
    assert provider_simulator.received("twilio") == {"+12025550143": 1}


@pytest.mark.django_db(transaction=True)
def test_a_plugin_call_that_failed_is_retried_after_its_backoff(organization, settings, timer):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    settings.SMSPORTAL_PLUGIN_RETRY_BASE_SECONDS = 1.0
    receiver = PluginReceiver(script=[503])
    try:
        PatientFactory(organization=organization, phone="+12025550111")
        registration_create(
            organization=organization, name="p", url=receiver.url, entity_types=["patient"], actions=["_incomingSms"]
        )
        started = timezone.now()
        inbound_receive(
            organization=organization,
            gateway=None,
            sms=InboundSms(sender="+12025550111", recipient="", text="1", provider_message_id="a"),
        )
        invocation = PluginInvocation.objects.get()
        assert (invocation.status, invocation.attempts) == ("retrying", 1)
        due = invocation.next_attempt_at

        wait_until(
            lambda: PluginInvocation.objects.filter(pk=invocation.pk, status="succeeded").exists(),
            10,
            "the retried plugin call",
        )
        assert len(receiver.calls) == 2
        invocation.refresh_from_db()
        assert invocation.attempts == 2 and invocation.claimed_at >= due  # not before it was due
        assert invocation.finished_at - started < timedelta(seconds=5)  # not a sweep later
    finally:
        receiver.close()
