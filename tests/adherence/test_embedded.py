"""The embedded beat (`make run`, no Celery beat): every CELERY_BEAT_SCHEDULE entry at its interval."""

import socket
from datetime import timedelta

import pytest
from django.utils import timezone

from adherence.embedded import EmbeddedBeat
from gateways.providers.base import InboundSms
from messaging.services.inbound import inbound_receive
from plugins.models import PluginInvocation
from plugins.registrations import registration_create
from tests.factories import PatientFactory

CALLS: list[str] = []


def record_fast():
    CALLS.append("fast")


def record_slow():
    CALLS.append("slow")


def explode():
    raise RuntimeError("bug")


@pytest.mark.django_db
def test_each_entry_runs_at_its_own_interval_and_a_failure_does_not_stop_the_others(settings):
    CALLS.clear()
    settings.CELERY_BEAT_SCHEDULE = {
        "boom": {"task": "tests.adherence.test_embedded.explode", "schedule": 5.0},
        "fast": {"task": "tests.adherence.test_embedded.record_fast", "schedule": 30.0},
        "slow": {"task": "tests.adherence.test_embedded.record_slow", "schedule": timedelta(minutes=10)},
    }
    beat = EmbeddedBeat()

    assert beat.tick(now=1000.0) == ["fast", "slow"]  # everything on start; "boom" failed but was logged
    assert beat.tick(now=1010.0) == []
    assert beat.tick(now=1031.0) == ["fast"]
    assert beat.tick(now=1601.0) == ["fast", "slow"]
    assert CALLS == ["fast", "slow", "fast", "fast", "slow"]


@pytest.mark.django_db(transaction=True)
def test_the_real_schedule_runs_every_entry_including_the_inbound_and_plugin_sweeps(settings):
    ran = EmbeddedBeat().tick()

    assert ran == list(settings.CELERY_BEAT_SCHEDULE)
    assert {"inbound-sweep", "plugins-sweep", "messaging-sweep", "adherence-tick"} <= set(ran)


@pytest.mark.django_db(transaction=True)
def test_a_plugin_retry_that_came_due_is_attempted_by_the_embedded_beat(organization, settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    settings.SMSPORTAL_PLUGIN_RETRY_BASE_SECONDS = 5.0  # the default: the countdown retry is not run inline
    with socket.socket() as s:  # a port nothing listens on: connection refused
        s.bind(("127.0.0.1", 0))
        refusing_url = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    PatientFactory(organization=organization, phone="+12025550111")
    registration_create(
        organization=organization, name="p", url=refusing_url, entity_types=["patient"], actions=["_incomingSms"]
    )
    inbound_receive(
        organization=organization,
        gateway=None,
        sms=InboundSms(sender="+12025550111", recipient="", text="1", provider_message_id="a"),
    )
    invocation = PluginInvocation.objects.get()
    assert (invocation.status, invocation.attempts) == ("retrying", 1)
    # What the user saw: the retry came due 8 minutes ago and nothing ran it.
    PluginInvocation.objects.update(next_attempt_at=timezone.now() - timedelta(minutes=8))

    EmbeddedBeat().tick()

    invocation.refresh_from_db()
    assert invocation.attempts == 2 and invocation.last_error == "connection failed"
    assert invocation.status == "retrying" and invocation.next_attempt_at > timezone.now()
