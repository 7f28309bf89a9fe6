"""Replay windows: old signed SNS messages are refused; the generic webhook's optional HMAC +
timestamp refuses stale or forged requests and stores a replay once."""

import hashlib
import hmac
import json
import time

import pytest

from messaging.models import InboundMessage
from tests.factories import GatewayFactory

pytestmark = pytest.mark.django_db

TOPIC = "arn:aws:sns:us-east-1:111122223333:sms-events"
REPLY = {"originationNumber": "+14255550182", "destinationNumber": "+12125550101", "messageBody": "Taken"}


@pytest.fixture
def sns_gateway(organization, provider_simulator, settings):
    settings.SMSPORTAL_SNS_TEST_CERTIFICATE = provider_simulator.sns_signer.certificate_pem
    return GatewayFactory(
        organization=organization, type="sns", is_default=False, config={"region": "us-east-1", "topicArns": [TOPIC]}
    )


def _sns_post(client, gateway, envelope):
    return client.post(f"/webhooks/{gateway.pk}/inbound", json.dumps(envelope), content_type="text/plain")


@pytest.mark.parametrize(
    "timestamp, stored",
    [
        ("2015-05-07T08:03:12.000Z", 0),  # years old: a captured message replayed
        (time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 3 * 3600)), 0),  # hours old
        (time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 3600)), 0),  # from the future
        (time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() - 60)), 1),  # a retry a minute late
    ],
)
def test_signed_sns_messages_outside_the_replay_window_are_refused(
    client, sns_gateway, provider_simulator, timestamp, stored
):
    reply = {**REPLY, "inboundMessageId": f"in-{timestamp}"}
    envelope = provider_simulator.sns_envelope(json.dumps(reply), TopicArn=TOPIC, Timestamp=timestamp)

    response = _sns_post(client, sns_gateway, envelope)

    assert response.status_code == (200 if stored else 403), response.content
    assert InboundMessage.objects.count() == stored


SECRET = "whsec-generic-1234567890"


@pytest.fixture
def signed_gateway(organization):
    return GatewayFactory(
        organization=organization,
        type="http",
        is_default=False,
        secrets={"webhookTokens": ["tok"], "webhookSigningSecret": SECRET},
    )


def _signed_post(client, gateway, body: bytes, *, at: float | None = None, secret: str = SECRET, headers=True):
    query = "token=tok"
    ts = str(int(at if at is not None else time.time()))
    signature = hmac.new(secret.encode(), b".".join([ts.encode(), query.encode(), body]), hashlib.sha256).hexdigest()
    extra = {"HTTP_X_SMSPORTAL_TIMESTAMP": ts, "HTTP_X_SMSPORTAL_SIGNATURE": f"sha256={signature}"} if headers else {}
    return client.post(f"/webhooks/{gateway.pk}/inbound?{query}", body, content_type="application/json", **extra)


def test_a_signed_generic_webhook_is_stored_once_however_often_it_is_replayed(client, signed_gateway):
    body = json.dumps({"from": "+4791234567", "text": "YES"}).encode()  # no id field
    now = time.time()

    answers = [_signed_post(client, signed_gateway, body, at=now).status_code for _ in range(3)]

    assert answers == [200, 200, 200]
    assert InboundMessage.objects.filter(text="YES").count() == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"at": time.time() - 3600},  # stale
        {"secret": "wrong-secret"},  # forged
        {"headers": False},  # unsigned
    ],
    ids=["stale", "forged", "unsigned"],
)
def test_stale_forged_or_unsigned_generic_webhooks_are_refused(client, signed_gateway, kwargs):
    body = json.dumps({"from": "+4791234567", "text": "YES"}).encode()
    assert _signed_post(client, signed_gateway, body, **kwargs).status_code == 403
    assert not InboundMessage.objects.exists()


def test_a_signed_body_cannot_be_changed(client, signed_gateway):
    body = json.dumps({"from": "+4791234567", "text": "YES"}).encode()
    ts = str(int(time.time()))
    signed = hmac.new(SECRET.encode(), b".".join([ts.encode(), b"token=tok", body]), hashlib.sha256).hexdigest()
    forged = body.replace(b"YES", b"NO")
    response = client.post(
        f"/webhooks/{signed_gateway.pk}/inbound?token=tok",
        forged,
        content_type="application/json",
        HTTP_X_SMSPORTAL_TIMESTAMP=ts,
        HTTP_X_SMSPORTAL_SIGNATURE=f"sha256={signed}",
    )
    assert response.status_code == 403
    assert not InboundMessage.objects.exists()


def test_the_signing_secret_is_set_through_the_api_and_never_returned(api_client, settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    body = {"type": "http", "name": "android", "urlTemplate": "http://127.0.0.1:9/send", "webhookSigningSecret": SECRET}
    response = api_client.post("/api/gateways", body, format="json")
    assert response.status_code in (200, 201), response.content
    assert SECRET not in json.dumps(response.json())
    from gateways.models import Gateway

    assert Gateway.objects.get(name="android").secrets["webhookSigningSecret"] == SECRET
