"""At low rates a routing run makes its batch's plugin calls itself, after its commit (one Celery hop
per reply, not two); with more waiting it publishes them and goes on routing. Either way each call
is made once, retries are scheduled, and nothing committed is lost (smsportal/enqueue.py)."""

import pytest
from django.db import transaction

from messaging.models import InboundMessage
from messaging.services.routing import inbound_route_pending
from plugins import invocations
from plugins.models import PluginInvocation
from smsportal.enqueue import enqueue_on_commit, followups_held, task_named
from tests.factories import PatientFactory
from tests.inbound.test_pipeline import plugin, reply

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "+12025550111"


@pytest.fixture
def published(monkeypatch, settings):
    """Tasks published to the broker (recorded, not sent), with eager mode off as in production."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    sent = []
    for name in (invocations.RUN_CHUNK_TASK, invocations.RUN_TASK):
        task = task_named(name)
        monkeypatch.setattr(task, "delay", lambda *args, _n=name: sent.append((_n, args)))
        monkeypatch.setattr(task, "apply_async", lambda args, _n=name, **kw: sent.append((_n, tuple(args), kw)))
    return sent


@pytest.fixture
def held_routing(monkeypatch):
    """Replies stored without a routing run (the test runs it)."""
    monkeypatch.setattr("messaging.services.receive.inbound_route_request", lambda: None)


def test_a_quiet_routing_run_calls_the_plugin_itself_once_and_publishes_nothing(
    organization, gateway, receiver, held_routing, published
):
    PatientFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url)
    message, _ = reply(organization, gateway)

    assert inbound_route_pending() == 1

    assert len(receiver.calls) == 1  # made within the run, not by a task published for later
    assert published == []
    invocation = PluginInvocation.objects.get()
    assert (invocation.status, invocation.attempts, invocation.inbound_message_id) == ("succeeded", 1, message.pk)
    assert InboundMessage.objects.get().status == "processed"


def test_a_failed_call_made_by_the_routing_run_is_retried_by_a_scheduled_task(
    organization, gateway, held_routing, published
):
    from tests.plugins.receiver import PluginReceiver

    failing = PluginReceiver(default=500)
    try:
        PatientFactory(organization=organization, phone=PHONE)
        plugin(organization, failing.url)
        reply(organization, gateway)

        inbound_route_pending()

        invocation = PluginInvocation.objects.get()
        assert (invocation.status, invocation.attempts, len(failing.calls)) == ("retrying", 1, 1)
        [(name, args, options)] = published
        assert name == invocations.RUN_TASK and args == (str(invocation.pk),) and options["countdown"] > 0
    finally:
        failing.close()


def test_with_more_waiting_than_a_batch_the_run_publishes_the_calls_and_keeps_routing(
    organization, gateway, receiver, held_routing, published
):
    for i in range(3):
        PatientFactory(organization=organization, phone=f"+1202555012{i}")
    plugin(organization, receiver.url)
    for i in range(3):
        reply(organization, gateway, sender=f"+1202555012{i}", provider_id=f"SM{i}")

    assert inbound_route_pending(batch=2) == 3

    # The full first batch's calls were published; the quiet last batch (one reply) called its own.
    assert [name for name, *_ in published] == [invocations.RUN_CHUNK_TASK]
    assert len(published[0][1][0]) == 2
    assert len(receiver.calls) == 1
    assert PluginInvocation.objects.filter(status="pending").count() == 2


def test_a_batch_of_more_than_one_chunk_calls_the_first_and_publishes_the_rest(
    organization, gateway, receiver, held_routing, published
):
    count = invocations.RUN_CHUNK + 1
    for i in range(count):
        PatientFactory(organization=organization, phone=f"+120255501{i:02d}")
        reply(organization, gateway, sender=f"+120255501{i:02d}", provider_id=f"SM{i}")
    plugin(organization, receiver.url)

    assert inbound_route_pending() == count

    assert len(receiver.calls) == invocations.RUN_CHUNK
    assert [(name, len(args[0])) for name, args in published] == [(invocations.RUN_CHUNK_TASK, 1)]


def test_held_tasks_are_dropped_with_a_rollback(published):
    with followups_held() as followups:
        followups.run_here = 1
        with pytest.raises(RuntimeError), transaction.atomic():
            enqueue_on_commit(invocations.RUN_TASK, "rolled-back")
            raise RuntimeError("rollback")

    assert published == [] and followups.tasks == []


def test_when_the_holder_fails_every_held_task_is_published(published, monkeypatch):
    ran = []
    monkeypatch.setattr(task_named(invocations.RUN_TASK), "run", lambda *a: ran.append(a))

    with pytest.raises(RuntimeError), followups_held() as followups:
        followups.run_here = 1
        enqueue_on_commit(invocations.RUN_TASK, "a")
        enqueue_on_commit(invocations.RUN_TASK, "b")
        raise RuntimeError("routing failed after its commit")

    assert ran == []
    assert published == [(invocations.RUN_TASK, ("a",)), (invocations.RUN_TASK, ("b",))]


def test_a_task_run_in_place_that_raises_is_logged_and_the_rest_still_published(published, monkeypatch, caplog):
    def boom(*args):
        raise ConnectionError("database gone")

    monkeypatch.setattr(task_named(invocations.RUN_TASK), "run", boom)

    with followups_held() as followups:
        followups.run_here = 1
        enqueue_on_commit(invocations.RUN_TASK, "a")
        enqueue_on_commit(invocations.RUN_TASK, "b")

    assert published == [(invocations.RUN_TASK, ("b",))]
    assert "follow-up task run in place failed" in caplog.text


def test_keyword_commands_kept_per_process_follow_a_change_at_once(organization, gateway, receiver, held_routing):
    """Routing keeps an organization's keyword commands per process; saving one takes effect on
    the next reply routed here."""
    from messaging.models import KeywordCommand

    PatientFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url)
    reply(organization, gateway, text="MUTE please", provider_id="SM1")
    inbound_route_pending()  # no command yet: the plugin is called, and the (empty) commands are kept
    command = KeywordCommand.objects.create(organization=organization, keyword="MUTE", action="ignore")

    reply(organization, gateway, text="MUTE please", provider_id="SM2")
    inbound_route_pending()
    command.is_active = False
    command.save()
    reply(organization, gateway, text="MUTE please", provider_id="SM3")
    inbound_route_pending()

    commands = dict(InboundMessage.objects.values_list("provider_message_id", "command"))
    assert commands == {"SM1": "", "SM2": "keyword:MUTE", "SM3": ""}
    assert len(receiver.wait_for(2)) == 2  # SM1 and SM3; SM2 only stored


def test_the_plugin_payload_lists_a_patients_caregivers_and_a_caregivers_patients(
    organization, other_organization, gateway, receiver, held_routing
):
    """Routing reads people and who they are linked to with its own queries (on PostgreSQL): the
    payload still names every caregiver of the patient (first by name) and every patient of the
    caregiver, and nothing of another organization."""
    from tests.factories import CaregiverFactory

    patient = PatientFactory(organization=organization, phone=PHONE)
    lonely = PatientFactory(organization=organization, phone="+12025550112")
    zoe = CaregiverFactory(organization=organization, first_name="Zoe", last_name="Young", phone="+12025550113")
    amy = CaregiverFactory(organization=organization, first_name="Amy", last_name="Adams", phone="+12025550114")
    zoe.patients.add(patient)
    amy.patients.add(patient, lonely)
    CaregiverFactory(organization=other_organization, phone="+12025550115")
    plugin(organization, receiver.url)
    for i, sender in enumerate([PHONE, "+12025550112", "+12025550114"]):
        reply(organization, gateway, sender=sender, provider_id=f"SM{i}")

    inbound_route_pending()

    entities = {c.json["data"]["entity"]["_id"]: c.json["data"]["entity"] for c in receiver.wait_for(3)}
    caregivers = entities[str(patient.id)]["_referencers"]["caregivers"]
    assert caregivers["count"] == 2 and caregivers["referrer"]["id"] == str(amy.id)
    assert entities[str(lonely.id)]["_referencers"]["caregivers"]["count"] == 1
    assert {p["id"] for p in entities[str(amy.id)]["patients"]} == {str(patient.id), str(lonely.id)}
