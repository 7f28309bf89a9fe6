"""Kannel, SMS Gateway for Android and Africa's Talking callbacks through the real webhook views:
the documented ones are stored once; malformed, unsigned, forged or stale ones are 4xx and store
nothing."""

import json
import time
from urllib.parse import urlencode

import pytest

from gateways.providers.android import android_signature
from messaging.models import InboundMessage, OutboundMessage
from tests.factories import GatewayFactory
from tests.gateways.replay import payload

pytestmark = pytest.mark.django_db
KEY = "android-signing-key"


@pytest.fixture
def kannel(organization):
    return GatewayFactory(
        organization=organization,
        type="kannel",
        is_default=False,
        config={"username": "u"},
        secrets={"webhookTokens": ["tok"]},
    )


@pytest.fixture
def android(organization):
    return GatewayFactory(
        organization=organization,
        type="android",
        config={"username": "u", "country": "US"},
        secrets={"password": "p", "signingKey": KEY, "webhookTokens": ["tok"]},
    )


@pytest.fixture
def africastalking(organization):
    return GatewayFactory(
        organization=organization,
        type="africastalking",
        is_default=False,
        config={"username": "u"},
        secrets={"webhookTokens": ["tok"]},
    )


def _signed(client, url, body: bytes, *, key=KEY, timestamp=None, signature=None):
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = signature if signature is not None else android_signature(key, body, timestamp)
    return client.post(
        url, data=body, content_type="application/json", HTTP_X_SIGNATURE=signature, HTTP_X_TIMESTAMP=timestamp
    )


def _nothing_stored():
    assert InboundMessage.objects.count() == 0


# -- documented callbacks are stored once ------------------------------------------------------


def test_kannel_reply_is_stored_once_even_when_kannel_calls_twice(client, kannel):
    url = f"/webhooks/{kannel.pk}/inbound?token=tok&{payload('kannel/sms_service_get.query').decode()}"

    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 200

    [stored] = InboundMessage.objects.all()
    assert (stored.originator, stored.text) == ("+254711000001", "Taken")


def test_kannel_report_without_an_id_from_kannel_is_matched_by_ours(client, organization, kannel):
    message = OutboundMessage.objects.create(
        organization=organization, recipient="+254711000001", body="x", gateway=kannel, source="portal", status="sent"
    )
    query = urlencode({"ref": str(message.pk), "type": "16", "answer": "NACK/0x00000045/Submit failed"})

    assert client.get(f"/webhooks/{kannel.pk}/status?token=tok&{query}").status_code == 200

    message.refresh_from_db()
    assert (message.status, message.provider_error_code) == ("failed", "SMSC_REJECTED")
    assert "NACK/0x00000045" in message.error_reason


def test_android_reply_retried_by_the_app_is_stored_once_with_its_national_sender_read_in_its_country(client, android):
    body = payload("android/sms_received.json")

    assert _signed(client, f"/webhooks/{android.pk}/inbound", body).status_code == 200
    assert _signed(client, f"/webhooks/{android.pk}/inbound", body).status_code == 200

    [stored] = InboundMessage.objects.all()
    assert stored.originator == "+16505551212" and stored.provider_message_id == "Ey6ECgOkVVFjz3CL48B8C"


def test_android_failed_event_fails_the_message_with_the_phones_reason(client, organization, android):
    message = OutboundMessage.objects.create(
        organization=organization, recipient="+14445556666", body="x", gateway=android, source="portal", status="sent"
    )
    body = payload("android/sms_failed.json").replace(b"msg-000", str(message.pk).encode())

    assert _signed(client, f"/webhooks/{android.pk}/status", body).status_code == 200

    message.refresh_from_db()
    assert message.status == "failed" and message.error_reason == "Network error"


def test_android_events_we_do_not_use_are_acknowledged(client, android):
    body = json.dumps({"deviceId": "d", "event": "system:ping", "id": "e1", "payload": {"health": "pass"}}).encode()

    assert _signed(client, f"/webhooks/{android.pk}/inbound", body).status_code == 200
    _nothing_stored()


def test_africastalking_reply_is_stored_once(client, africastalking):
    form = payload("africastalking/incoming_message.form")
    url = f"/webhooks/{africastalking.pk}/inbound?token=tok"

    for _ in range(2):
        assert client.post(url, data=form, content_type="application/x-www-form-urlencoded").status_code == 200

    [stored] = InboundMessage.objects.all()
    assert (stored.originator, stored.text) == ("+254711000123", "Taken")


def test_africastalking_failed_report_records_the_failure_reason(client, organization, africastalking):
    message = OutboundMessage.objects.create(
        organization=organization,
        recipient="+254711000123",
        body="x",
        gateway=africastalking,
        source="portal",
        status="sent",
        provider_message_id="ATXid_bd20e1a9d4d6c1c2ed6b8a6d6e1d45a2",
    )
    form = payload("africastalking/delivery_report_failed.form")

    response = client.post(
        f"/webhooks/{africastalking.pk}/status?token=tok", data=form, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 200
    message.refresh_from_db()
    assert (message.status, message.provider_error_code) == ("undelivered", "UserInBlacklist")


# -- bad input: 4xx, nothing stored ------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("to=%2B254709000000&text=Taken&id=x1", "from"),
        ("from=%2B254711000001&to=%2B254709000000&id=x1", "text"),
        ("from=%2B254711000001&text=bad%00nul&id=x1", "text"),
    ],
    ids=["no-sender", "no-text", "nul"],
)
def test_kannel_malformed_reply_is_400_naming_the_field(client, kannel, query, field):
    response = client.get(f"/webhooks/{kannel.pk}/inbound?token=tok&{query}")

    assert response.status_code == 400 and response.json()["field"] == field
    _nothing_stored()


@pytest.mark.parametrize("query", ["type=1", "ref=abc&type=xyz"], ids=["no-ref", "type-not-a-number"])
def test_kannel_malformed_report_is_400(client, kannel, query):
    assert client.get(f"/webhooks/{kannel.pk}/status?token=tok&{query}").status_code == 400


@pytest.mark.parametrize("token", ["", "wrong"], ids=["no-token", "wrong-token"])
def test_kannel_and_africastalking_callbacks_without_the_gateways_token_are_403(client, kannel, africastalking, token):
    kannel_query = payload("kannel/sms_service_get.query").decode()
    form = payload("africastalking/incoming_message.form")

    assert client.get(f"/webhooks/{kannel.pk}/inbound?token={token}&{kannel_query}").status_code == 403
    response = client.post(
        f"/webhooks/{africastalking.pk}/inbound?token={token}",
        data=form,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 403
    _nothing_stored()


@pytest.mark.parametrize(
    ("form", "field"),
    [(b"from=%2B254711000123&text=Hi", "id"), (b"id=1&text=Hi", "from"), (b"id=1&from=%2B254711000123", "text")],
    ids=["no-id", "no-sender", "no-text"],
)
def test_africastalking_malformed_reply_is_400_naming_the_field(client, africastalking, form, field):
    response = client.post(
        f"/webhooks/{africastalking.pk}/inbound?token=tok", data=form, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400 and response.json()["field"] == field
    _nothing_stored()


def test_africastalking_report_without_a_status_is_400(client, africastalking):
    response = client.post(
        f"/webhooks/{africastalking.pk}/status?token=tok",
        data=b"id=ATXid_1",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 400 and response.json()["field"] == "status"


@pytest.mark.parametrize(
    "case",
    ["unsigned", "wrong-key", "tampered", "stale", "future", "token-instead-of-signature"],
)
def test_android_unsigned_forged_or_stale_webhook_is_403(client, android, case):
    body = payload("android/sms_received.json")
    url = f"/webhooks/{android.pk}/inbound"
    now = int(time.time())
    if case == "unsigned":
        response = client.post(url, data=body, content_type="application/json")
    elif case == "wrong-key":
        response = _signed(client, url, body, key="someone-elses-key")
    elif case == "tampered":
        signature = android_signature(KEY, body, str(now))
        response = _signed(client, url, body.replace(b"sweet", b"sour"), timestamp=now, signature=signature)
    elif case == "stale":
        response = _signed(client, url, body, timestamp=now - 301)
    elif case == "future":
        response = _signed(client, url, body, timestamp=now + 301)
    else:
        response = client.post(f"{url}?token=tok", data=body, content_type="application/json")

    assert response.status_code == 403
    _nothing_stored()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (b"[1, 2]", "body"),
        (b'{"event": "sms:received", "id": "e1"}', "payload"),
        (b'{"event": "sms:received", "id": "e1", "payload": {"message": "hi"}}', "payload.sender"),
        (b'{"event": "sms:received", "payload": {"message": "hi", "sender": "+16505551212"}}', "id"),
        (b'{"event": "sms:received", "id": "e1", "payload": {"sender": "+16505551212"}}', "payload.message"),
    ],
    ids=["not-json", "not-an-envelope", "no-payload", "no-sender", "no-event-id", "no-text"],
)
def test_android_signed_but_malformed_event_is_400_naming_the_field(client, android, body, field):
    response = _signed(client, f"/webhooks/{android.pk}/inbound", body)

    assert response.status_code == 400 and response.json()["field"] == field
    _nothing_stored()


def test_android_status_event_without_its_message_id_is_400(client, android):
    body = json.dumps({"event": "sms:delivered", "id": "e2", "payload": {"recipient": "+1"}}).encode()

    response = _signed(client, f"/webhooks/{android.pk}/status", body)

    assert response.status_code == 400 and response.json()["field"] == "payload.messageId"
