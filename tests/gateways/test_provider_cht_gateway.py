"""CHT gateway (pull mode): a test emulates the phone — it polls, takes messages, reports statuses
and sends replies — through the poll URL, and nothing is lost or doubled."""

import base64
import gzip
import json
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from gateways.models import Gateway
from gateways.providers.simulator import SimulatorAdapter
from messaging.models import InboundMessage, OutboundMessage
from messaging.services.delivery import outbound_deliver
from messaging.services.dispatch import outbound_dispatch
from messaging.services.outbound import messages_queue
from messaging.services.pull import pull_gateways_check
from tests.concurrency import run_concurrently
from tests.factories import GatewayFactory

PAYLOADS = Path(__file__).resolve().parent.parent / "payloads" / "cht_gateway"
Status = OutboundMessage.Status


def cht_gateway(organization, **kwargs) -> Gateway:
    return GatewayFactory(
        organization=organization,
        type="cht_gateway",
        name="clinic phone",
        config={"username": "gateway"},
        secrets={"password": "topSecret"},
        last_polled_at=timezone.now(),
        **kwargs,
    )


class Phone:
    """What the CHT gateway app does over HTTP (its README's API), with the ids it already has."""

    def __init__(self, gateway, password="topSecret"):
        self.client = Client()
        self.url = f"/webhooks/{gateway.pk}/cht-gateway"
        auth = base64.b64encode(f"gateway:{password}".encode()).decode()
        self.headers = {"HTTP_AUTHORIZATION": f"Basic {auth}"}
        self.received: list[str] = []  # every id we were offered, in order (with repeats)

    def post(self, body, **extra):
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        return self.client.post(self.url, raw, content_type="application/json", **self.headers, **extra)

    def poll(self, messages=(), updates=()) -> list[dict]:
        response = self.post({"messages": list(messages), "updates": list(updates)})
        assert response.status_code == 200, response.content
        offered = response.json()["messages"]
        self.received += [m["id"] for m in offered]
        return offered


@pytest.fixture
def phone_gateway(organization):
    return cht_gateway(organization, is_default=True)


def queue(organization, count, **kwargs):
    result = messages_queue(
        organization=organization,
        recipients=[f"+2547123450{n:02d}" for n in range(count)],
        body="Time for your medication",
        source="system",
        **kwargs,
    )
    return [str(i) for i, _, _ in result.stored]


@pytest.mark.django_db
def test_get_answers_the_handshake_and_needs_the_password(phone_gateway):
    assert Phone(phone_gateway).client.get(Phone(phone_gateway).url, **Phone(phone_gateway).headers).json() == {
        "medic-gateway": True
    }
    wrong = Phone(phone_gateway, password="nope")
    assert wrong.client.get(wrong.url, **wrong.headers).status_code == 401
    assert Client().post(wrong.url, b"{}", content_type="application/json").status_code == 401
    assert OutboundMessage.objects.count() == 0


@pytest.mark.django_db
def test_the_phone_polls_sends_reports_and_replies_without_loss_or_duplicates(organization, phone_gateway):
    ids = queue(organization, 3)
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {Status.QUEUED}  # not pushed

    phone = Phone(phone_gateway)
    offered = phone.poll()
    assert sorted(m["id"] for m in offered) == sorted(ids)
    assert {m["to"] for m in offered} == {"+254712345000", "+254712345001", "+254712345002"}
    assert phone.poll() == []  # claimed: a second poll gets nothing

    reply = json.loads((PAYLOADS / "poll_request.json").read_text())["messages"][0]
    updates = [{"id": ids[0], "status": "PENDING"}, {"id": ids[1], "status": "SENT"}]
    updates += [{"id": ids[2], "status": "FAILED", "reason": "generic failure"}]
    assert phone.poll(messages=[reply], updates=updates) == []
    assert phone.poll(updates=[{"id": ids[1], "status": "DELIVERED"}]) == []

    by_id = {str(m.id): m for m in OutboundMessage.objects.all()}
    assert [by_id[i].status for i in ids] == [Status.SENT, Status.DELIVERED, Status.FAILED]
    assert by_id[ids[2]].error_reason == "generic failure"
    assert by_id[ids[1]].provider_message_id == ids[1]
    inbound = InboundMessage.objects.get()
    assert (inbound.originator, inbound.text, inbound.organization_id) == ("+254712345678", "TAKEN", organization.pk)

    # The phone repeats itself (a lost answer): the same reply and old updates change nothing.
    phone.poll(messages=[reply], updates=[{"id": ids[1], "status": "SENT"}, {"id": ids[0], "status": "PENDING"}])
    assert InboundMessage.objects.count() == 1
    assert OutboundMessage.objects.get(pk=ids[1]).status == Status.DELIVERED
    assert sorted(phone.received) == sorted(ids)  # each offered exactly once


@pytest.mark.django_db
def test_an_unconfirmed_message_is_offered_again_after_the_lease_and_not_after_confirmation(
    settings, organization, phone_gateway
):
    (message_id,) = queue(organization, 1)
    phone = Phone(phone_gateway)
    assert [m["id"] for m in phone.poll()] == [message_id]
    assert phone.poll() == []  # within the lease
    OutboundMessage.objects.filter(pk=message_id).update(claimed_at=timezone.now() - timedelta(minutes=10))

    assert [m["id"] for m in phone.poll()] == [message_id]  # the answer was lost: offered again
    phone.poll(updates=[{"id": message_id, "status": "SENT"}])
    OutboundMessage.objects.filter(pk=message_id).update(claimed_at=timezone.now() - timedelta(minutes=10))
    assert phone.poll() == []
    assert OutboundMessage.objects.get(pk=message_id).status == Status.SENT


@pytest.mark.django_db
def test_dispatch_never_pushes_to_a_pull_gateway(organization, phone_gateway):
    ids = queue(organization, 2)
    outbound_dispatch()
    assert outbound_deliver(message_ids=ids) is None  # a stray delivery task gives them back

    rows = OutboundMessage.objects.filter(pk__in=ids)
    assert {(m.status, m.attempts) for m in rows} == {(Status.QUEUED, 0)}
    assert sorted(m["id"] for m in Phone(phone_gateway).poll()) == sorted(ids)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (b"[1, 2]", "body"),
        ({"messages": "x"}, "messages"),
        ({"messages": [{"id": "a", "from": "+254712345678"}]}, "messages[0].content"),
        ({"messages": [{"id": "a", "from": "+1", "content": "x", "sms_received": "soon"}]}, "messages[0].sms_received"),
        ({"updates": [{"id": "x", "status": "READ"}]}, "updates[0].status"),
        ({"updates": [{"status": "SENT"}]}, "updates[0].id"),
        ({"updates": [None]}, "updates[0]"),
    ],
)
def test_garbage_is_refused_naming_the_field_and_nothing_is_stored_or_claimed(organization, phone_gateway, body, field):
    queue(organization, 1)
    good_reply = {"id": "r1", "from": "+254712345678", "content": "hi"}
    if isinstance(body, dict):
        body = {"messages": [good_reply], **body} if "messages" not in body else body

    response = Phone(phone_gateway).post(body)

    assert response.status_code == 400
    assert response.json()["error"] is True and response.json()["field"] == field
    assert InboundMessage.objects.count() == 0
    assert OutboundMessage.objects.get().status == Status.QUEUED  # still waiting, not handed out


@pytest.mark.django_db
def test_updates_naming_no_message_of_this_gateway_are_ignored(organization, other_organization, phone_gateway):
    other = cht_gateway(other_organization)
    (theirs,) = queue(other_organization, 1, gateway=other)
    Phone(other).poll()

    offered = Phone(phone_gateway).poll(
        updates=[
            {"id": theirs, "status": "FAILED"},
            {"id": "not-ours", "status": "SENT"},
            {"id": str(uuid.uuid4()), "status": "SENT"},
        ]
    )

    assert offered == []
    assert OutboundMessage.objects.get(pk=theirs).status == Status.SENDING


@pytest.mark.django_db
def test_a_gzipped_request_is_read(organization, phone_gateway):
    body = gzip.compress((PAYLOADS / "poll_request.json").read_bytes())
    response = Phone(phone_gateway).post(body, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 200 and response.json() == {"messages": []}
    assert InboundMessage.objects.count() == 1


@pytest.mark.django_db
def test_a_message_past_its_validity_is_expired_not_offered(organization, phone_gateway):
    (message_id,) = queue(organization, 1, valid_until=timezone.now() + timedelta(minutes=5))
    OutboundMessage.objects.filter(pk=message_id).update(valid_until=timezone.now() - timedelta(seconds=1))

    assert Phone(phone_gateway).poll() == []
    message = OutboundMessage.objects.get(pk=message_id)
    assert message.status == Status.EXPIRED and "validUntil" in message.error_reason


@pytest.mark.django_db
def test_a_silent_phone_hands_its_queue_to_the_fallback_exactly_once(organization, django_capture_on_commit_callbacks):
    fallback = GatewayFactory(organization=organization, is_default=False, name="fallback simulator")
    gateway = cht_gateway(organization, is_default=True, fallback=fallback)
    offered_id, *waiting = queue(organization, 3)
    phone = Phone(gateway)
    assert phone.client.post(phone.url, b"{}", content_type="application/json", **phone.headers).status_code == 200
    OutboundMessage.objects.exclude(pk=offered_id).filter(status=Status.SENDING).update(
        status=Status.QUEUED, attempts=0, claim_token=None
    )  # only the first was handed to the phone
    Gateway.objects.filter(pk=gateway.pk).update(last_polled_at=timezone.now() - timedelta(hours=1))

    with django_capture_on_commit_callbacks(execute=True):
        counts = pull_gateways_check()
    assert counts == {"down": 1, "moved": 2, "unknown": 1}
    assert pull_gateways_check()["moved"] == 0  # exactly once

    sent = sorted(m.reference for m in SimulatorAdapter.outbox)
    assert sent == sorted(waiting)  # the fallback sent the two the phone never had
    assert OutboundMessage.objects.get(pk=offered_id).status == Status.UNKNOWN  # the phone may have sent it
    new_id = queue(organization, 1)[0]  # new sends start on the fallback while the phone is down
    assert OutboundMessage.objects.get(pk=new_id).gateway_id == fallback.pk

    assert phone.poll() == []  # back: nothing that moved comes to it
    gateway.refresh_from_db()
    assert gateway.down_until is None


@pytest.mark.django_db(transaction=True)
def test_two_phones_polling_concurrently_get_each_message_once(require_postgres, organization):
    gateway = cht_gateway(organization, is_default=True)
    ids = queue(organization, 60)
    phones = [Phone(gateway), Phone(gateway)]

    def drain(index):
        phone = phones[index]
        for _ in range(20):  # bounded: 60 messages, at most 50 per poll
            if not phone.poll():
                break
        return phone.received

    first, second = run_concurrently(drain, 2)

    assert not set(first) & set(second)
    assert sorted(first + second) == sorted(ids)
    assert OutboundMessage.objects.filter(status=Status.SENDING).count() == 60
