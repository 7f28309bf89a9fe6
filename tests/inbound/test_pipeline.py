"""A reply through the inbound pipeline to plugins (embedded mode: tasks run in-process).

The plugin is a real HTTP server on 127.0.0.1; the same paths with a real Celery worker on
PostgreSQL + Redis are in test_worker.py.
"""

import json
import re
from pathlib import Path

import jwt
import pytest
from jwt import PyJWKSet

from gateways.providers.base import InboundSms
from messaging.models import InboundMessage, KeywordCommand, OptOut, OutboundMessage
from messaging.services.outbound import messages_queue
from messaging.services.receive import inbound_receive
from plugins.models import PluginInvocation
from plugins.registrations import registration_create
from plugins.signing import body_sha256
from tests.factories import CaregiverFactory, GatewayFactory, PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)
PHONE = "+12025550111"
SEED = Path(__file__).resolve().parent.parent / "payloads" / "biot" / "incoming_sms_plugin_payload.json"


def seed_payload() -> dict:
    return json.loads(SEED.read_text())


def reply(organization, gateway, text="1", provider_id="SM1", sender=PHONE, **kw):
    sms = InboundSms(sender=sender, recipient="+12025550100", text=text, provider_message_id=provider_id, **kw)
    return inbound_receive(organization=organization, gateway=gateway, sms=sms)


def plugin(organization, url, **kw):
    fields = {
        "name": "meds",
        "url": url,
        "entity_types": ["patient", "caregiver", "organization-user"],
        "actions": ["_incomingSms"],
        "max_attempts": 3,
        "timeout_seconds": 2,
        **kw,
    }
    return registration_create(organization=organization, **fields)


def keys_of(obj, prefix=""):
    out = set()
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.add(prefix + k)
            out |= keys_of(v, prefix + k + ".")
    return out


def test_matched_reply_calls_the_plugin_once_with_seed_001_payload_and_a_verifiable_jwt(
    organization, gateway, receiver, client
):
    patient = PatientFactory(organization=organization, phone=PHONE, national_id="76986")
    registration, secret = plugin(organization, receiver.url)
    sent = messages_queue(organization=organization, recipients=[PHONE], body="Take it", source="portal").messages[0]
    sent.refresh_from_db()

    message, created = reply(organization, gateway, text="Medication Taken")

    calls = receiver.wait_for(1)
    assert created and len(calls) == 1
    body = calls[0].json
    seed = seed_payload()
    # Key for key: envelope, metadata and additionalData exactly; every BioT system attribute of the entity.
    outside_entity = {k for k in keys_of(seed) if not k.startswith("data.entity.")}
    assert {k for k in keys_of(body) if not k.startswith("data.entity.")} == outside_entity
    seed_system_keys = {k for k in seed["data"]["entity"] if k.startswith("_")}
    assert seed_system_keys <= set(body["data"]["entity"])
    # ...and inside them, key for key (`_name.firstName`, `_address.city`, `_ownerOrganization.id`…);
    # `_referencers` lists whoever refers to this patient, which differs from the seed's patient.
    nested = {
        k for k in keys_of(seed) if k.startswith("data.entity._") and not k.startswith("data.entity._referencers.")
    }
    assert nested <= set(keys_of(body)), nested - set(keys_of(body))
    meta = body["data"]["additionalData"]["metadata"]
    assert meta == {
        "originationNumber": PHONE,
        "destinationNumber": "+12025550100",
        "messageBody": "Medication Taken",
        "inboundMessageId": str(sent.id),
        "previousPublishedMessageId": sent.provider_message_id,
    }
    assert body["metadata"]["entityTypeName"] == "patient"
    assert body["metadata"]["actionName"] == "_incomingSms"
    assert body["metadata"]["initiator"]["subject"]["id"] == PHONE
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", body["metadata"]["startTime"])
    assert re.fullmatch(r"00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]", body["metadata"]["traceId"])
    assert body["data"]["entity"]["_id"] == str(patient.id)
    assert calls[0].headers["traceparent"] == body["metadata"]["traceId"]

    jwks = PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json())
    header = jwt.get_unverified_header(body["jwt"])
    claims = jwt.decode(body["jwt"], jwks[header["kid"]].key, algorithms=["RS512"], audience=str(registration.id))
    assert header["alg"] == "RS512"
    assert "ACTION_NOTIFICATION" in claims["scopes"]
    assert 0 < claims["exp"] - claims["iat"] <= 300 and claims["jti"] and claims["iss"]
    assert claims["body_sha256"] == body_sha256({k: v for k, v in body.items() if k != "jwt"})

    message.refresh_from_db()
    assert message.status == "processed" and message.entity_id == patient.id
    invocation = PluginInvocation.objects.get()
    assert invocation.status == "succeeded" and invocation.attempts == 1


def test_webhook_signature_header_verifies_with_the_registration_secret(organization, gateway, receiver):
    import base64
    import hashlib
    import hmac

    PatientFactory(organization=organization, phone=PHONE)
    _, secret = plugin(organization, receiver.url)

    reply(organization, gateway)

    call = receiver.wait_for(1)[0]
    signed = f"{call.headers['webhook-id']}.{call.headers['webhook-timestamp']}.".encode() + call.body
    expected = base64.b64encode(
        hmac.new(base64.b64decode(secret.removeprefix("whsec_")), signed, hashlib.sha256).digest()
    ).decode()
    assert call.headers["webhook-signature"] == f"v1,{expected}"
    assert call.headers["Idempotency-Key"] == call.headers["webhook-id"]


def test_repeated_replies_keep_the_inbound_message_id_until_a_new_send(organization, gateway, receiver):
    PatientFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url)
    first = messages_queue(organization=organization, recipients=[PHONE], body="Dose 1", source="portal").messages[0]

    reply(organization, gateway, provider_id="SM1")
    reply(organization, gateway, provider_id="SM2")
    second = messages_queue(organization=organization, recipients=[PHONE], body="Dose 2", source="portal").messages[0]
    reply(organization, gateway, provider_id="SM3")

    ids = [c.json["data"]["additionalData"]["metadata"]["inboundMessageId"] for c in receiver.wait_for(3)]
    assert ids == [str(first.id), str(first.id), str(second.id)]


def test_a_reply_routed_late_answers_the_message_sent_before_it_arrived(organization, gateway, receiver, monkeypatch):
    """Routing can lag (a broker outage; the sweep picks the reply up later): a message sent
    meanwhile must not become the one the reply answers."""
    from messaging.services.routing import inbound_route_pending

    PatientFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url)
    first = messages_queue(organization=organization, recipients=[PHONE], body="Dose 1", source="portal").messages[0]
    monkeypatch.setattr("messaging.services.receive.inbound_route_request", lambda: None)  # routing held
    reply(organization, gateway, provider_id="SM-late")
    messages_queue(organization=organization, recipients=[PHONE], body="Dose 2", source="portal")
    monkeypatch.undo()

    inbound_route_pending()

    meta = receiver.wait_for(1)[0].json["data"]["additionalData"]["metadata"]
    first.refresh_from_db()
    assert meta["inboundMessageId"] == str(first.id)
    assert meta["previousPublishedMessageId"] == first.provider_message_id


def test_provider_previous_published_id_wins_over_ours(organization, gateway, receiver):
    PatientFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url)
    messages_queue(organization=organization, recipients=[PHONE], body="Dose", source="portal")

    reply(organization, gateway, previous_published_message_id="aws-published-1")

    meta = receiver.wait_for(1)[0].json["data"]["additionalData"]["metadata"]
    assert meta["previousPublishedMessageId"] == "aws-published-1"


def test_unknown_sender_fails_no_entity_and_calls_no_plugin(organization, gateway, receiver):
    plugin(organization, receiver.url)

    message, _ = reply(organization, gateway)

    message.refresh_from_db()
    assert (message.status, message.failure_reason) == ("failed", "NO_ENTITY")
    assert PluginInvocation.objects.count() == 0 and receiver.calls == []


def test_two_entities_with_the_number_fail_multiple_entities(organization, gateway, receiver):
    PatientFactory(organization=organization, phone=PHONE)
    CaregiverFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url)

    message, _ = reply(organization, gateway)

    message.refresh_from_db()
    assert (message.status, message.failure_reason) == ("failed", "MULTIPLE_ENTITIES")
    assert PluginInvocation.objects.count() == 0 and receiver.calls == []


def test_plugin_answering_500_twice_then_200_succeeds_on_the_third_attempt(organization, gateway, receiver):
    PatientFactory(organization=organization, phone=PHONE)
    receiver.script = [500, 500, 200]
    plugin(organization, receiver.url, max_attempts=5)

    reply(organization, gateway)

    calls = receiver.wait_for(3)
    invocation = PluginInvocation.objects.get()
    assert invocation.status == "succeeded" and invocation.attempts == 3
    assert [e["statusCode"] for e in invocation.attempt_log] == [500, 500, 200]
    assert len({c.headers["webhook-id"] for c in calls}) == 1  # stable idempotency key across retries
    assert len({c.json["jwt"] for c in calls}) == 3  # a fresh short-lived token per attempt


def test_plugin_that_never_answers_is_failed_after_max_attempts(organization, gateway, receiver):
    PatientFactory(organization=organization, phone=PHONE)
    receiver.default = "hang"
    plugin(organization, receiver.url, max_attempts=2, timeout_seconds=1)

    reply(organization, gateway)

    invocation = PluginInvocation.objects.get()
    assert invocation.status == "failed" and invocation.attempts == 2
    assert invocation.last_error == "timed out" and invocation.last_duration_ms >= 900


def test_refused_connection_is_retried_then_failed_with_the_error(organization, gateway):
    PatientFactory(organization=organization, phone=PHONE)
    plugin(organization, "http://127.0.0.1:9/plugin", max_attempts=2)

    reply(organization, gateway)

    invocation = PluginInvocation.objects.get()
    assert (invocation.status, invocation.attempts, invocation.last_error) == ("failed", 2, "connection failed")


def test_the_same_provider_message_twice_is_stored_and_processed_once(organization, gateway, receiver):
    PatientFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url)

    _, first = reply(organization, gateway, provider_id="SMdup")
    _, second = reply(organization, gateway, provider_id="SMdup")

    assert (first, second) == (True, False)
    assert InboundMessage.objects.count() == 1 and PluginInvocation.objects.count() == 1
    assert len(receiver.wait_for(1)) == 1


def test_stop_opts_out_with_one_confirmation_and_later_sends_are_refused(organization, gateway, receiver):
    from gateways.providers.simulator import SimulatorAdapter

    PatientFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url)

    message, _ = reply(organization, gateway, text="Stop", provider_id="SM1")
    reply(organization, gateway, text="STOP", provider_id="SM2")

    opt_out = OptOut.objects.get(organization=organization, phone_number=PHONE)
    assert opt_out.inbound_message_id == message.id and opt_out.created_at
    confirmations = OutboundMessage.objects.filter(recipient=PHONE, source="system")
    assert [m.body for m in confirmations] == [organization.opt_out_confirmation]
    assert [m.to for m in SimulatorAdapter.outbox] == [PHONE]
    assert receiver.calls == []  # a command is not a reply for plugins

    later = messages_queue(organization=organization, recipients=[PHONE], body="Dose", source="portal").messages[0]
    assert later.status == "failed" and later.error_reason == "opted out"

    reply(organization, gateway, text="start", provider_id="SM3")
    assert not OptOut.objects.filter(organization=organization, phone_number=PHONE).exists()
    assert OutboundMessage.objects.filter(body=organization.opt_in_confirmation).count() == 1


def test_help_answers_with_the_organization_help_text(organization, gateway):
    organization.help_text = "Demo Org care team: call 555-0100."
    organization.save()

    message, _ = reply(organization, gateway, text="help")

    message.refresh_from_db()
    assert message.status == "processed" and message.command == "help"
    assert OutboundMessage.objects.get(recipient=PHONE).body == "Demo Org care team: call 555-0100."


def test_help_is_answered_even_to_an_opted_out_number_but_nothing_else_is(organization, gateway):
    from gateways.providers.simulator import SimulatorAdapter

    reply(organization, gateway, text="STOP", provider_id="SM1")
    SimulatorAdapter.outbox.clear()

    reply(organization, gateway, text="help", provider_id="SM2")
    later = messages_queue(organization=organization, recipients=[PHONE], body="Dose", source="portal").messages[0]

    help_reply = OutboundMessage.objects.get(recipient=PHONE, body=f"Demo Org: {organization.help_text}")
    assert help_reply.status != "failed" and help_reply.error_reason == ""
    assert [m.to for m in SimulatorAdapter.outbox] == [PHONE]  # the HELP answer went out
    assert later.status == "failed" and later.error_reason == "opted out"


def test_organization_keywords_add_to_the_standard_opt_out_set(organization, gateway):
    organization.opt_out_keywords = ["ARRET"]
    organization.save()

    reply(organization, gateway, text="arret", provider_id="SM1", sender="+12025550122")
    reply(organization, gateway, text="stop", provider_id="SM2")  # FCC: STOP is never switched off

    assert set(OptOut.objects.values_list("phone_number", flat=True)) == {"+12025550122", PHONE}
    assert InboundMessage.objects.get(provider_message_id="SM2").command == "opt_out"


def test_keyword_command_hands_the_reply_to_the_named_plugin_only(organization, gateway, receiver):
    from tests.plugins.receiver import PluginReceiver

    PatientFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url)
    other = PluginReceiver()
    try:
        plugin(organization, other.url, name="labs")
        KeywordCommand.objects.create(organization=organization, keyword="LAB", plugin_name="labs")

        message, _ = reply(organization, gateway, text="lab 5.4")

        assert len(other.wait_for(1)) == 1 and receiver.calls == []
        message.refresh_from_db()
        assert message.command == "keyword:LAB" and message.status == "processed"
    finally:
        other.close()


def test_another_organizations_number_never_reaches_its_plugins(organization, other_organization, gateway, receiver):
    PatientFactory(organization=other_organization, phone=PHONE)
    plugin(other_organization, receiver.url)

    message, _ = reply(organization, gateway)

    message.refresh_from_db()
    assert message.failure_reason == "NO_ENTITY"
    assert receiver.calls == [] and PluginInvocation.objects.count() == 0


def test_a_routing_batch_of_two_organizations_calls_each_ones_plugins_only(
    organization, other_organization, gateway, receiver, monkeypatch
):
    from messaging.services.routing import inbound_route_batch
    from tests.plugins.receiver import PluginReceiver

    other_receiver = PluginReceiver()
    try:
        PatientFactory(organization=organization, phone=PHONE)
        PatientFactory(organization=other_organization, phone=PHONE)
        plugin(organization, receiver.url)
        plugin(other_organization, other_receiver.url)
        other_gateway = GatewayFactory(organization=other_organization)
        # Both stored first, then routed together: one batch, registrations read per organization.
        monkeypatch.setattr("messaging.services.receive.inbound_route_request", lambda: None)
        mine, _ = reply(organization, gateway, text="mine", provider_id="SMa")
        theirs, _ = reply(other_organization, other_gateway, text="theirs", provider_id="SMb")

        assert inbound_route_batch() == 2

        assert [c.json["data"]["additionalData"]["metadata"]["messageBody"] for c in receiver.wait_for(1)] == ["mine"]
        other_calls = other_receiver.wait_for(1)
        assert [c.json["data"]["additionalData"]["metadata"]["messageBody"] for c in other_calls] == ["theirs"]
        assert receiver.calls[0].json["data"]["entity"]["_ownerOrganization"]["id"] == str(organization.id)
        assert other_calls[0].json["data"]["entity"]["_ownerOrganization"]["id"] == str(other_organization.id)
    finally:
        other_receiver.close()


def test_a_disabled_plugin_is_not_called_for_the_next_reply(organization, gateway, receiver):
    from plugins.registrations import registration_update

    PatientFactory(organization=organization, phone=PHONE)
    registration, _ = plugin(organization, receiver.url)
    reply(organization, gateway, provider_id="SM1")
    assert len(receiver.wait_for(1)) == 1

    registration_update(registration=registration, enabled=False)
    message, _ = reply(organization, gateway, provider_id="SM2")

    message.refresh_from_db()
    assert message.status == "processed"
    assert PluginInvocation.objects.filter(inbound_message=message).count() == 0 and len(receiver.calls) == 1


def test_plugins_only_for_their_entity_types(organization, gateway, receiver):
    CaregiverFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url, entity_types=["patient"])

    message, _ = reply(organization, gateway)

    message.refresh_from_db()
    assert message.status == "processed" and message.entity_type == "caregiver"
    assert receiver.calls == []


def test_live_event_published_for_each_inbound_message(organization, gateway, monkeypatch):
    events = []
    monkeypatch.setattr(
        "messaging.services.routing.publish_many",
        lambda triples: events.extend({"organization_id": o, "event": e, "data": d} for o, e, d in triples),
    )

    message, _ = reply(organization, gateway)

    assert [(e["event"], e["data"]["id"], e["data"]["status"]) for e in events] == [
        ("inbound.message", str(message.id), "failed")
    ]


def test_webhook_from_a_gateway_stores_the_message_for_the_gateway_organization(organization, client):
    gateway = GatewayFactory(organization=organization)
    token = gateway.ensure_webhook_token()
    gateway.save()

    response = client.post(f"/webhooks/{gateway.id}/inbound?token={token}")

    assert response.status_code == 200  # the simulator adapter parses nothing; the view and seam work
