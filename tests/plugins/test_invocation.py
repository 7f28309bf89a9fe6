"""How a plugin's answer steers its invocation: 410 Gone, Retry-After."""

import pytest
from django.utils import timezone

from gateways.providers.base import InboundSms
from messaging.services.inbound import inbound_receive
from plugins.models import PluginInvocation, PluginRegistration
from plugins.registrations import registration_create
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "+12025550111"


def reply(organization, provider_id):
    sms = InboundSms(sender=PHONE, recipient="", text="1", provider_message_id=provider_id)
    return inbound_receive(organization=organization, gateway=None, sms=sms)


def test_410_gone_fails_the_call_and_disables_the_plugin(organization, receiver):
    PatientFactory(organization=organization, phone=PHONE)
    registration, _ = registration_create(
        organization=organization,
        name="gone",
        url=receiver.url,
        entity_types=["patient"],
        actions=["_incomingSms"],
        max_attempts=5,
    )
    receiver.script = [410]

    reply(organization, "a")
    reply(organization, "b")

    invocation = PluginInvocation.objects.get()
    assert (invocation.status, invocation.attempts, invocation.last_status_code) == ("failed", 1, 410)
    assert not PluginRegistration.objects.get(pk=registration.pk).enabled
    assert len(receiver.calls) == 1


def test_retry_after_on_503_delays_the_next_attempt_at_least_that_long(organization, receiver, settings):
    settings.SMSPORTAL_PLUGIN_RETRY_MAX_SECONDS = 3600
    PatientFactory(organization=organization, phone=PHONE)
    registration_create(
        organization=organization, name="busy", url=receiver.url, entity_types=["patient"], actions=["_incomingSms"]
    )
    receiver.script = [(503, {"Retry-After": "30"})]
    before = timezone.now()

    reply(organization, "a")

    invocation = PluginInvocation.objects.get()
    assert invocation.status == "retrying" and invocation.last_status_code == 503
    assert (invocation.next_attempt_at - before).total_seconds() >= 29


def test_a_private_address_is_refused_at_call_time_too(organization, receiver, settings):
    PatientFactory(organization=organization, phone=PHONE)
    registration_create(
        organization=organization, name="p", url=receiver.url, entity_types=["patient"], actions=["_incomingSms"]
    )
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = False  # saved while allowed (development), called after it is not

    reply(organization, "a")

    invocation = PluginInvocation.objects.get()
    assert invocation.status == "failed" and invocation.last_error.startswith("url refused")
    assert receiver.calls == []
