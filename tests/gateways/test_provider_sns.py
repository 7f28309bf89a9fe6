"""AWS adapter: SNS publish against a moto server, End User Messaging v2 against the simulator,
and SNS signature verification (v1 and v2) with a locally generated certificate."""

import json

import pytest

from gateways.exceptions import (
    GatewayAmbiguousError,
    GatewayRejectedError,
    GatewayTemporaryError,
    WebhookValidationError,
)
from gateways.providers.base import OutboundSms
from gateways.providers.sns import SnsAdapter
from gateways.providers.sns_notifications import cert_url_allowed
from tests.gateways.conftest import build_gateway

TOPIC = "arn:aws:sns:us-east-1:111122223333:sms-events"
ONE = [OutboundSms(reference="11111111-1111-1111-1111-111111111111", to="+14255550182", text="Dose time")]
KEYS = {"accessKeyId": "testing"}
SECRETS = {"secretAccessKey": "testing"}


def sns_adapter(endpoint, **config):
    return SnsAdapter(
        build_gateway(
            "sns",
            config={"region": "us-east-1", "endpointUrl": endpoint, "topicArns": [TOPIC], **KEYS, **config},
            secrets=SECRETS,
        )
    )


def test_sns_publish_reaches_the_moto_server(moto_server, settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    from moto.sns.models import sns_backends

    [result] = sns_adapter(moto_server).send_batch(ONE)

    assert result.accepted and result.provider_message_id
    backend = sns_backends["123456789012"]["us-east-1"]
    assert backend.sms_messages[result.provider_message_id] == ("+14255550182", "Dose time")


def test_end_user_messaging_send_text_message_request(sim):
    adapter = sns_adapter(
        sim.url,
        service="pinpoint-sms-voice-v2",
        originationIdentity="+12125550101",
        configurationSetName="reminders",
    )

    [result] = adapter.send_batch(ONE)

    [request] = sim.requests_for("aws")
    assert request.method == "POST" and request.path == "/"
    assert request.headers["X-Amz-Target"] == "PinpointSMSVoiceV2.SendTextMessage"
    assert request.headers["Content-Type"] == "application/x-amz-json-1.0"
    assert request.headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=testing/")
    assert request.json() == {
        "DestinationPhoneNumber": "+14255550182",
        "MessageBody": "Dose time",
        "MessageType": "TRANSACTIONAL",
        "Context": {"reference": ONE[0].reference},
        "OriginationIdentity": "+12125550101",
        "ConfigurationSetName": "reminders",
    }
    assert result.accepted and result.provider_message_id in sim.messages


def test_end_user_messaging_error_classes(sim, settings):
    adapter = sns_adapter(sim.url, service="pinpoint-sms-voice-v2")

    sim.behave(error_code="ThrottlingException", times=1)
    with pytest.raises(GatewayTemporaryError) as exc:
        adapter.send_batch(ONE)
    assert exc.value.result_code == "RESULT_CODE_429"

    sim.behave(error_code="ConflictException", times=1)
    with pytest.raises(GatewayRejectedError, match="ConflictException DESTINATION_PHONE_NUMBER_OPTED_OUT"):
        adapter.send_batch(ONE)

    sim.behave(status=503, times=1)
    with pytest.raises(GatewayTemporaryError):
        adapter.send_batch(ONE)

    settings.SMSPORTAL_HTTP_TIMEOUT = 0.5
    adapter = sns_adapter(sim.url, service="pinpoint-sms-voice-v2", region="eu-west-1")  # a fresh client
    sim.behave(delay=1.5, times=1)
    with pytest.raises(GatewayAmbiguousError):
        adapter.send_batch(ONE)


def test_private_endpoint_is_refused_unless_allowed(sim, settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = False

    with pytest.raises(GatewayRejectedError, match="refused"):
        sns_adapter(sim.url, service="pinpoint-sms-voice-v2").send_batch(ONE)
    assert sim.requests_for("aws") == []


# -- signature verification ------------------------------------------------------------------


@pytest.fixture
def signer(sim, settings):
    settings.SMSPORTAL_SNS_TEST_CERTIFICATE = sim.sns_signer.certificate_pem
    return sim


def _post(rf, envelope):
    return rf.post("/webhooks/x/inbound", data=json.dumps(envelope), content_type="text/plain; charset=UTF-8")


INBOUND = {
    "originationNumber": "+14255550182",
    "destinationNumber": "+12125550101",
    "messageKeyword": "KEYWORD_111122223333",
    "messageBody": "Taken",
    "inboundMessageId": "cae173d2-66b9-564c-8309-21f858e9fb84",
    "previousPublishedMessageId": "wJalrXUtnFEMI",
}


@pytest.mark.parametrize("version", ["1", "2"])
def test_signed_inbound_notification_is_verified_and_parsed(signer, rf, version):
    adapter = sns_adapter("")
    request = _post(rf, signer.sns_envelope(json.dumps(INBOUND), version=version))

    adapter.verify_request(request, kind="inbound")
    [sms] = adapter.parse_inbound(request)

    assert (sms.sender, sms.text, sms.provider_message_id) == ("+14255550182", "Taken", INBOUND["inboundMessageId"])
    assert sms.previous_published_message_id == "wJalrXUtnFEMI"


def test_delivery_event_is_parsed(signer, rf):
    record = {"eventType": "TEXT_DELIVERED", "messageId": "862a8790", "eventTimestamp": 1715068990000}
    request = _post(rf, signer.sns_envelope(json.dumps(record)))
    adapter = sns_adapter("")

    adapter.verify_request(request, kind="status")
    [update] = adapter.parse_status(request)

    assert (update.provider_message_id, update.status) == ("862a8790", "delivered")


def _resign(signer, envelope):
    return signer.sns_signer.sign({k: v for k, v in envelope.items() if k not in ("Signature", "SigningCertURL")})


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda s, e: {**e, "Message": e["Message"].replace("Taken", "Forged")}, "does not verify"),
        (lambda s, e: {**e, "Signature": "AAAA"}, "does not verify"),
        (lambda s, e: _resign(s, {**e, "TopicArn": "arn:aws:sns:us-east-1:111122223333:other"}), "allow-listed"),
        (
            lambda s, e: {
                **e,
                "SigningCertURL": "https://sns.us-east-1.amazonaws.com.evil.example/SimpleNotificationService-ab.pem",
            },
            "SigningCertURL",
        ),
        (
            lambda s, e: {
                **e,
                "SigningCertURL": "https://sqs.us-east-1.amazonaws.com/SimpleNotificationService-ab.pem",
            },
            "SigningCertURL",
        ),
        (
            lambda s, e: {
                **e,
                "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-ab.pem",
            },
            "SigningCertURL",
        ),
        (lambda s, e: {**e, "SigningCertURL": e["SigningCertURL"].replace("https:", "http:")}, "SigningCertURL"),
        (lambda s, e: {**e, "SignatureVersion": "3"}, "SignatureVersion"),
        (lambda s, e: {**e, "Type": "Other"}, "type"),
    ],
    ids=[
        "tampered-message",
        "bad-signature",
        "topic",
        "host-suffix",
        "other-service",
        "other-region",
        "http",
        "version",
        "type",
    ],
)
def test_forged_or_unexpected_notifications_are_refused(signer, rf, change, reason):
    envelope = change(signer, signer.sns_envelope(json.dumps(INBOUND)))

    with pytest.raises(WebhookValidationError, match=reason):
        sns_adapter("").verify_request(_post(rf, envelope), kind="inbound")


def test_certificate_url_pinning():
    assert cert_url_allowed("https://sns.us-east-1.amazonaws.com/SimpleNotificationService-9c6465fa.pem", "us-east-1")
    assert not cert_url_allowed(
        "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-9c.pem", "us-east-1"
    )
    assert not cert_url_allowed("https://sns.us-east-1.amazonaws.com/other.pem", "us-east-1")
    assert not cert_url_allowed(
        "https://evil.example/SimpleNotificationService-9c.pem?x=sns.us-east-1.amazonaws.com", "us-east-1"
    )


def test_subscription_is_confirmed_only_for_allow_listed_topics(signer, rf, moto_server, settings, monkeypatch):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    import boto3

    sns = boto3.client(
        "sns",
        region_name="us-east-1",
        endpoint_url=moto_server,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    topic = sns.create_topic(Name="sms-inbound")["TopicArn"]
    signer.sns_topic_arn = topic
    adapter = sns_adapter(moto_server, topicArns=[topic])
    confirmed = []
    real_client = adapter.client

    def spying_client(service="", region=""):
        client = real_client(service, region)
        real_confirm = client.confirm_subscription
        client.confirm_subscription = lambda **kw: (real_confirm(**kw), confirmed.append(kw))
        return client

    monkeypatch.setattr(adapter, "client", spying_client)
    envelope = signer.sns_envelope(
        "You have chosen to subscribe to the topic",
        kind="SubscriptionConfirmation",
        Token="2336412f37",
        SubscribeURL="https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=2336412f37",
    )
    request = _post(rf, envelope)

    adapter.verify_request(request, kind="inbound")
    assert adapter.parse_inbound(request) == []
    assert confirmed == [{"TopicArn": topic, "Token": "2336412f37"}]

    other = sns_adapter(moto_server, topicArns=["arn:aws:sns:us-east-1:111122223333:another"])
    with pytest.raises(WebhookValidationError, match="allow-listed"):
        other.verify_request(_post(rf, envelope), kind="inbound")
