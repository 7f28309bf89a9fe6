"""Recovery sweeps (nothing accepted is left unprocessed), delivery-status events, receive countries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gateways.providers.base import InboundSms, StatusUpdate
from gateways.receive_countries import inbound_number_warning, receive_supported
from messaging.models import InboundMessage
from messaging.services.outbound import messages_queue
from messaging.services.receive import inbound_receive
from messaging.services.routing import inbound_sweep
from messaging.services.status import outbound_status_apply
from plugins.models import PluginInvocation
from plugins.registrations import registration_create
from plugins.tasks import plugins_sweep_task
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "+12025550111"


def test_a_message_whose_routing_request_was_lost_is_routed_by_the_sweep(organization, monkeypatch, settings):
    monkeypatch.setattr("messaging.services.receive.inbound_route_request", lambda: None)  # the lost publish
    message, _ = inbound_receive(
        organization=organization,
        gateway=None,
        sms=InboundSms(sender=PHONE, recipient="", text="1", provider_message_id="a"),
    )
    assert InboundMessage.objects.get(pk=message.pk).status == "received"
    InboundMessage.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    monkeypatch.undo()

    assert inbound_sweep() == {"pending": 1}

    message.refresh_from_db()
    assert (message.status, message.failure_reason) == ("failed", "NO_ENTITY")


def test_an_invocation_whose_task_was_lost_is_run_by_the_sweep(organization, receiver, monkeypatch):
    PatientFactory(organization=organization, phone=PHONE)
    registration_create(
        organization=organization, name="p", url=receiver.url, entity_types=["patient"], actions=["_incomingSms"]
    )
    # The chunk's task is lost (published and dropped, or its worker died before it ran; a routing
    # run that makes the calls itself runs the same task body).
    monkeypatch.setattr("plugins.tasks.plugin_invocations_run_task.run", lambda *a: None)
    inbound_receive(
        organization=organization,
        gateway=None,
        sms=InboundSms(sender=PHONE, recipient="", text="1", provider_message_id="a"),
    )
    monkeypatch.undo()
    stale = timezone.now() - timedelta(minutes=5)
    PluginInvocation.objects.update(updated_at=stale, created_at=stale)

    assert plugins_sweep_task()["requeued"] == 1

    assert PluginInvocation.objects.get().status == "succeeded" and len(receiver.wait_for(1)) == 1


def test_a_routing_bug_fails_the_message_visibly(organization, monkeypatch):
    def broken(message):
        raise RuntimeError("bug")

    monkeypatch.setattr("messaging.services.routing._route", broken)

    message, _ = inbound_receive(
        organization=organization,
        gateway=None,
        sms=InboundSms(sender=PHONE, recipient="", text="1", provider_message_id="a"),
    )

    message.refresh_from_db()
    assert (message.status, message.failure_reason) == ("failed", "ROUTING_ERROR")


def test_delivery_status_change_is_published_and_sent_to_sms_status_plugins(
    organization, gateway, receiver, monkeypatch
):
    patient = PatientFactory(organization=organization, phone=PHONE)
    registration_create(
        organization=organization, name="status", url=receiver.url, entity_types=["patient"], actions=["_smsStatus"]
    )
    events = []
    monkeypatch.setattr(
        "messaging.live.publish_many",
        lambda triples: events.extend({"organization_id": o, "event": e, "data": d} for o, e, d in triples),
    )
    sent = messages_queue(organization=organization, recipients=[PHONE], body="Dose", source="portal").messages[0]
    sent.refresh_from_db()

    outbound_status_apply(
        gateway=gateway, update=StatusUpdate(provider_message_id=sent.provider_message_id, status="delivered")
    )

    assert {
        "event": "outbound.status",
        "organization_id": organization.id,
        "data": {"id": str(sent.id), "status": "delivered", "previousStatus": "sent"},
    } in events
    body = receiver.wait_for(1)[0].json
    assert body["metadata"]["actionName"] == "_smsStatus" and body["data"]["entity"]["_id"] == str(patient.id)
    assert body["data"]["additionalData"]["metadata"]["status"] == "delivered"
    assert any(e["event"] == "plugin.invocation" and e["data"]["status"] == "succeeded" for e in events)


def test_receive_countries_come_from_the_seed_and_others_get_a_warning():
    assert receive_supported("US") and receive_supported("gb") and receive_supported("IL")
    assert not receive_supported("KE")
    assert inbound_number_warning("US") == ""
    assert "KE" in inbound_number_warning("KE")


def test_a_batch_routes_every_kind_of_reply_with_lookups_done_once(
    organization, gateway, receiver, monkeypatch, django_assert_max_num_queries
):
    from messaging.models import OptOut
    from messaging.services.routing import inbound_route_batch

    patients = [PatientFactory(organization=organization, phone=f"+1202555{i:04d}") for i in range(10, 30)]
    registration_create(
        organization=organization, name="p", url=receiver.url, entity_types=["patient"], actions=["_incomingSms"]
    )
    monkeypatch.setattr("messaging.services.receive.inbound_route_request", lambda: None)
    # The chunk's task is lost (published and dropped, or its worker died before it ran; a routing
    # run that makes the calls itself runs the same task body).
    monkeypatch.setattr("plugins.tasks.plugin_invocations_run_task.run", lambda *a: None)
    for i, patient in enumerate(patients):
        sms = InboundSms(sender=str(patient.phone), recipient="", text="1", provider_message_id=f"m{i}")
        inbound_receive(organization=organization, gateway=gateway, sms=sms)
    inbound_receive(
        organization=organization,
        gateway=gateway,
        sms=InboundSms(sender=PHONE, recipient="", text="x", provider_message_id="u"),
    )

    with django_assert_max_num_queries(15):
        assert inbound_route_batch(limit=50) == 21

    statuses = dict(InboundMessage.objects.values_list("provider_message_id", "failure_reason"))
    assert statuses.pop("u") == "NO_ENTITY" and set(statuses.values()) == {""}
    assert PluginInvocation.objects.count() == 20
    assert not OptOut.objects.exists()
