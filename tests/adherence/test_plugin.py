"""The built-in medication plugin through the real inbound path (simulator gateway, eager Celery)."""

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from adherence.demo import demo_seed
from adherence.models import DoseConfirmation, DoseSlot
from adherence.plugin import HANDLER, parse_biot_time, plugin_install
from adherence.services import reminder_send
from gateways.providers.base import InboundSms
from messaging.services.receive import inbound_receive
from plugins.models import PluginInvocation, PluginRegistration

pytestmark = pytest.mark.django_db(transaction=True)


def reply(organization, gateway, sender, text):
    sms = InboundSms(
        sender=sender, recipient="", text=text, provider_message_id=uuid.uuid4().hex, received_at=timezone.now()
    )
    with transaction.atomic():
        message, _ = inbound_receive(organization=organization, gateway=gateway, sms=sms)
    message.refresh_from_db()
    return message


@pytest.fixture
def reminded(med_schedule, organization):
    plugin_install(organization=organization)
    slot = DoseSlot.objects.filter(schedule=med_schedule).select_related("patient", "schedule", "organization").first()
    DoseSlot.objects.filter(pk=slot.pk).update(
        scheduled_at=timezone.now() - timedelta(minutes=5), window_closes_at=timezone.now() + timedelta(minutes=55)
    )
    slot.refresh_from_db()
    assert reminder_send(slot=slot)
    slot.refresh_from_db()
    return slot


def test_install_is_idempotent_and_valid(organization):
    first = plugin_install(organization=organization)
    second = plugin_install(organization=organization)

    assert first.pk == second.pk
    assert (first.handler, first.entity_types, first.actions) == (HANDLER, ["patient"], ["_incomingSms"])
    first.full_clean()  # the plugins app accepts the handler path


def test_reply_1_confirms_the_dose_on_time_linked_to_the_reminder(reminded, organization, gateway, patient):
    message = reply(organization, gateway, "+12025550111", "1")

    assert message.status == "processed" and message.in_reply_to_id == reminded.reminder_id
    confirmation = DoseConfirmation.objects.get()
    assert confirmation.slot_id == reminded.pk and confirmation.on_time
    assert confirmation.inbound_message_id == message.id and confirmation.reply == "1"
    invocation = PluginInvocation.objects.get()
    assert invocation.status == "succeeded"
    assert invocation.payload["data"]["additionalData"]["metadata"]["inboundMessageId"] == str(reminded.reminder_id)


def test_a_chatty_reply_is_only_a_conversation_message(reminded, organization, gateway):
    message = reply(organization, gateway, "+12025550111", "Which pill is it?")

    assert message.status == "processed"
    assert not DoseConfirmation.objects.exists()
    assert DoseSlot.objects.get(pk=reminded.pk).status == "reminded"


def test_reply_from_an_unknown_number_is_failed_and_confirms_nothing(reminded, organization, gateway):
    message = reply(organization, gateway, "+12025550999", "1")

    assert message.status == "failed" and message.failure_reason == "NO_ENTITY"
    assert not DoseConfirmation.objects.exists() and not PluginInvocation.objects.exists()


def test_another_organizations_plugin_never_sees_the_reply(reminded, organization, gateway, other_organization):
    plugin_install(organization=other_organization)

    reply(organization, gateway, "+12025550111", "1")

    assert list(PluginInvocation.objects.values_list("registration__organization", flat=True)) == [organization.pk]


def test_demo_seed_gives_demo_patients_schedules_and_the_plugin(organization, gateway, patient):
    assert demo_seed(organization=organization) == 1
    assert demo_seed(organization=organization) == 0

    assert patient.medication_schedules.get().dose_times == ["08:00", "20:00"]
    assert PluginRegistration.objects.filter(organization=organization, handler=HANDLER).count() == 1


def test_biot_nanosecond_times_parse():
    parsed = parse_biot_time("2023-11-25T12:27:47.279660728Z")

    assert parsed.isoformat() == "2023-11-25T12:27:47.279660+00:00"
    assert parse_biot_time("garbage") is None


def test_demo_seed_gives_a_fresh_install_weeks_of_dose_history_once(organization, gateway, patient):
    from adherence.demo import DEMO_HISTORY_DAYS
    from portal import selectors

    demo_seed(organization=organization)
    demo_seed(organization=organization)  # `make run` seeds on every start

    # The schedule's own dose times: shortly after midnight the demo's taken and missed doses are yesterday's.
    past = DoseSlot.objects.filter(
        patient=patient, local_date__lt=selectors.org_today(organization), local_time__in=["08:00", "20:00"]
    )
    assert past.count() == DEMO_HISTORY_DAYS * 2  # twice a day, not doubled by the second run
    statuses = set(past.values_list("status", flat=True))
    assert statuses == {"taken", "late", "missed"}
    assert DoseConfirmation.objects.filter(slot__in=past).count() == past.exclude(status="missed").count()
