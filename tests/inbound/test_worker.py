"""The production path: Twilio-signed webhooks → PostgreSQL → a real Celery worker on Redis → plugin calls
received by a local HTTP server on 127.0.0.1. Skipped without PostgreSQL/Redis (fails with
SMSPORTAL_REQUIRE_SERVICES=1)."""

from urllib.parse import urlencode

import jwt
import pytest
from django.db import connection
from jwt import PyJWKSet
from twilio.request_validator import RequestValidator

from messaging.models import InboundMessage, OptOut, OutboundMessage
from messaging.services.outbound import messages_queue
from plugins.models import PluginInvocation
from plugins.registrations import registration_create
from plugins.signing import body_sha256
from tests.concurrency import run_concurrently
from tests.factories import CaregiverFactory, PatientFactory
from tests.inbound.conftest import AUTH_TOKEN, OUR_NUMBER, PHONE, PUBLIC
from tests.inbound.test_pipeline import keys_of, seed_payload
from tests.inbound.worker import WorkerProcess, database_url, point_app_at
from tests.polling import wait_until

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def _worker_holder():
    holder = {}
    yield holder
    if holder.get("worker"):
        holder["worker"].stop()


@pytest.fixture
def worker(require_postgres, redis_url, transactional_db, settings, _worker_holder):
    from smsportal.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.REDIS_URL = redis_url
    settings.CELERY_BROKER_URL = redis_url
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    settings.SMSPORTAL_PUBLIC_BASE_URL = PUBLIC
    point_app_at(app, redis_url)
    if _worker_holder.get("worker") is None:
        process = WorkerProcess(database_url=database_url(connection.settings_dict), broker_url=redis_url)
        _worker_holder["worker"] = process
        process.wait_ready(app)
    yield _worker_holder["worker"]
    point_app_at(app, None)


@pytest.fixture
def receiver():
    from tests.plugins.receiver import PluginReceiver

    r = PluginReceiver()
    yield r
    r.close()


def twilio_reply(client, gateway, *, sid="SM1", body="1", sender=PHONE):
    path = f"/webhooks/{gateway.id}/inbound"
    form = {
        "MessageSid": sid,
        "AccountSid": "AC" + "1" * 32,
        "From": sender,
        "To": OUR_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC}{path}", form)
    return client.post(
        path, urlencode(form), content_type="application/x-www-form-urlencoded", HTTP_X_TWILIO_SIGNATURE=signature
    )


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
    return registration_create(organization=organization, **fields)[0]


def routed(message_id):
    return wait_until(
        lambda: InboundMessage.objects.exclude(status="received").filter(pk=message_id).first(), 60, "the reply routed"
    )


def invocation_done():
    return wait_until(
        lambda: PluginInvocation.objects.filter(status__in=["succeeded", "failed"]).first(),
        60,
        "a finished plugin call",
    )


def test_twilio_signed_reply_reaches_the_plugin_once_with_seed_001_body_and_a_jwks_verified_jwt(
    worker, organization, twilio, receiver, client
):
    PatientFactory(organization=organization, phone=PHONE)
    registration = plugin(organization, receiver.url)

    response = twilio_reply(client, twilio, body="Medication Taken")

    assert response.status_code == 200 and response.content.decode().endswith("<Response/>")
    calls = receiver.wait_for(1)
    assert len(calls) == 1, worker.output()
    body = calls[0].json
    seed = seed_payload()
    assert {k for k in keys_of(body) if not k.startswith("data.entity.")} == {
        k for k in keys_of(seed) if not k.startswith("data.entity.")
    }
    assert {k for k in seed["data"]["entity"] if k.startswith("_")} <= set(body["data"]["entity"])
    assert body["data"]["additionalData"]["metadata"]["messageBody"] == "Medication Taken"
    assert body["data"]["additionalData"]["metadata"]["destinationNumber"] == OUR_NUMBER
    keys = PyJWKSet.from_dict(client.get("/.well-known/jwks.json").json())
    kid = jwt.get_unverified_header(body["jwt"])["kid"]
    claims = jwt.decode(body["jwt"], keys[kid].key, algorithms=["RS512"], audience=str(registration.id))
    assert claims["body_sha256"] == body_sha256({k: v for k, v in body.items() if k != "jwt"})
    assert invocation_done().status == "succeeded"
    assert len(receiver.calls) == 1


def test_a_forged_twilio_signature_is_403_and_stores_nothing(worker, organization, twilio, client):
    path = f"/webhooks/{twilio.id}/inbound"
    form = {"MessageSid": "SMx", "From": PHONE, "To": OUR_NUMBER, "Body": "1"}
    forged = RequestValidator("not-the-token").compute_signature(f"{PUBLIC}{path}", form)

    response = client.post(
        path, urlencode(form), content_type="application/x-www-form-urlencoded", HTTP_X_TWILIO_SIGNATURE=forged
    )

    assert response.status_code == 403 and InboundMessage.objects.count() == 0


def test_two_replies_keep_the_inbound_message_id_until_a_new_send(worker, organization, twilio, receiver, client):
    PatientFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url)

    def send(text):
        message = messages_queue(organization=organization, recipients=[PHONE], body=text, source="portal").messages[0]
        wait_until(
            lambda: OutboundMessage.objects.filter(pk=message.pk, status="sent").exists(), 60, "the reminder sent"
        )
        return message

    first = send("Dose 1")
    twilio_reply(client, twilio, sid="SM1")
    receiver.wait_for(1)
    twilio_reply(client, twilio, sid="SM2")
    receiver.wait_for(2)
    second = send("Dose 2")
    twilio_reply(client, twilio, sid="SM3")

    calls = receiver.wait_for(3)
    ids = [c.json["data"]["additionalData"]["metadata"]["inboundMessageId"] for c in calls]
    assert ids == [str(first.id), str(first.id), str(second.id)], worker.output()
    previous = calls[0].json["data"]["additionalData"]["metadata"]["previousPublishedMessageId"]
    assert previous == OutboundMessage.objects.get(pk=first.pk).provider_message_id


@pytest.mark.parametrize(("entities", "reason"), [(0, "NO_ENTITY"), (2, "MULTIPLE_ENTITIES")])
def test_zero_or_two_matching_entities_call_no_plugin(worker, organization, twilio, receiver, client, entities, reason):
    if entities == 2:
        PatientFactory(organization=organization, phone=PHONE)
        CaregiverFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url)

    twilio_reply(client, twilio)

    message = routed(InboundMessage.objects.get().pk)
    assert (message.status, message.failure_reason) == ("failed", reason)
    assert PluginInvocation.objects.count() == 0 and receiver.calls == []


def test_plugin_answering_500_twice_then_200_gets_three_attempts_and_succeeds(
    worker, organization, twilio, receiver, client
):
    PatientFactory(organization=organization, phone=PHONE)
    receiver.script = [500, 500, 200]
    plugin(organization, receiver.url, max_attempts=5)

    twilio_reply(client, twilio)

    invocation = invocation_done()
    assert (invocation.status, invocation.attempts, invocation.last_status_code) == ("succeeded", 3, 200)
    assert len(receiver.calls) == 3 and len({c.headers["webhook-id"] for c in receiver.calls}) == 1


def test_plugin_that_never_answers_is_failed_after_max_attempts(worker, organization, twilio, receiver, client):
    PatientFactory(organization=organization, phone=PHONE)
    receiver.default = "hang"
    plugin(organization, receiver.url, max_attempts=2, timeout_seconds=1)

    twilio_reply(client, twilio)

    invocation = invocation_done()
    assert (invocation.status, invocation.attempts, invocation.last_error) == ("failed", 2, "timed out")
    assert invocation.last_duration_ms >= 900 and invocation.last_status_code is None


def test_the_same_provider_message_posted_twice_at_once_is_stored_and_processed_once(
    worker, organization, twilio, receiver
):
    from django.test import Client

    PatientFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url)
    statuses = run_concurrently(lambda _: twilio_reply(Client(), twilio, sid="SMsame").status_code, 2)

    assert statuses == [200, 200]
    invocation_done()
    assert InboundMessage.objects.count() == 1 and PluginInvocation.objects.count() == 1
    assert len(receiver.calls) == 1


def test_stop_records_the_opt_out_and_a_later_send_is_refused(worker, organization, twilio, receiver, client):
    PatientFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url)

    twilio_reply(client, twilio, body="STOP")

    message = routed(InboundMessage.objects.get().pk)
    opt_out = OptOut.objects.get(organization=organization, phone_number=PHONE)
    assert opt_out.inbound_message_id == message.id and message.command == "opt_out"
    confirmation = OutboundMessage.objects.get(recipient=PHONE, source="system")
    assert confirmation.body == organization.opt_out_confirmation and confirmation.gateway_id == twilio.id
    # Sent once, through the gateway the STOP came in on (the Twilio stand-in on 127.0.0.1).
    wait_until(
        lambda: OutboundMessage.objects.filter(pk=confirmation.pk, status="sent").exists(), 60, "the confirmation sent"
    )
    later = messages_queue(organization=organization, recipients=[PHONE], body="Dose", source="portal").messages[0]
    assert later.status == "failed" and later.error_reason == "opted out"
    assert receiver.calls == []


def test_another_organizations_number_never_reaches_its_plugins(
    worker, organization, other_organization, twilio, receiver, client
):
    PatientFactory(organization=other_organization, phone=PHONE)
    plugin(other_organization, receiver.url)

    twilio_reply(client, twilio)

    message = routed(InboundMessage.objects.get().pk)
    assert message.organization_id == organization.id and message.failure_reason == "NO_ENTITY"
    assert PluginInvocation.objects.count() == 0 and receiver.calls == []
