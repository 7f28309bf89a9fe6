"""One contract every provider adapter runs, against the providers' documented payloads
(tests/payloads/<provider>/, served by a loopback stand-in) and against the provider simulator.

A misread wire format written twice (adapter and simulator) passes the simulator's half and
fails the documented half. Every adapter in gateways.providers.ADAPTERS must have a contract
here: a new provider without one fails `test_every_adapter_has_a_contract`.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest
from django.test import RequestFactory
from twilio.request_validator import RequestValidator

from gateways.exceptions import (
    GatewayAmbiguousError,
    GatewayRejectedError,
    GatewayTemporaryError,
    WebhookValidationError,
)
from gateways.providers import ADAPTERS
from gateways.providers.base import OutboundSms, ProviderAdapter
from tests.gateways.conftest import build_gateway
from tests.gateways.replay import Answer, ReplayServer, payload, payload_json

# The built-in simulator adapter does no I/O and has no wire format to hold to a document.
NOT_PROVIDERS = {"simulator"}
# Pull mode: the phone is the client (no send request, no webhooks of ours to call); its documented
# payloads are held by tests/gateways/test_provider_cht_gateway.py instead.
NOT_PROVIDERS |= {"cht_gateway"}
TEXT = "Time for your 8am dose. Reply 1 when taken."
rf = RequestFactory()


@dataclass(frozen=True)
class Contract:
    """What one provider documents, and how its adapter must read and write it."""

    type: str
    adapter: Callable[[str], ProviderAdapter]  # base URL → adapter
    message: OutboundSms
    simulator_name: str  # the simulator's name for the provider (sim.requests_for)
    success: Answer  # the documented success answer
    success_id: str  # the provider message id in it
    check_request: Callable  # (recorded request) → asserts the documented request shape
    refusal: Answer  # a documented error answer
    refusal_reason: str  # what of it the failure reason must carry
    retry_after_honoured: bool  # the provider sends Retry-After with its 429
    inbound: Callable  # () → a webhook request carrying the documented reply
    inbound_expected: dict
    status: Callable  # () → a webhook request carrying the documented delivery report
    status_expected: dict
    forged: Callable  # (kind) → the inbound request, signed or authenticated wrongly


def at(iso: str) -> datetime:
    return datetime.fromisoformat(iso).replace(tzinfo=UTC)


def form_post(path: str, form: bytes, **headers):
    return rf.post(path, data=form, content_type="application/x-www-form-urlencoded", **headers)


def json_post(path: str, body: bytes | str):
    return rf.post(path, data=body, content_type="application/json")


# -- token-in-URL providers (Clickatell, BulkSMS, generic HTTP): the URL's token authenticates ----


def with_token(build, token="tok-current"):
    return lambda: build(f"/webhooks/x/in?token={token}")


# -- Clickatell -------------------------------------------------------------------------------


def clickatell(url: str):
    gateway = build_gateway("clickatell", config={"urlTemplate": f"{url}/messages"}, secrets={"authToken": "k-1"})
    return ADAPTERS["clickatell"](gateway)


def clickatell_request(recorded):
    documented = payload_json("clickatell/send_request.json")
    body = recorded.json()
    assert recorded.method == "POST" and recorded.path == "/messages"
    assert recorded.headers["authorization"] == "k-1" and recorded.headers["content-type"] == "application/json"
    assert set(body) <= set(documented), set(body) - set(documented)
    assert body["to"] == [documented["to"][0]] and body["content"] == documented["content"]


# -- BulkSMS ----------------------------------------------------------------------------------


def bulksms(url: str):
    gateway = build_gateway(
        "bulksms", config={"urlTemplate": f"{url}/v1/messages", "username": "tok-id"}, secrets={"password": "s"}
    )
    return ADAPTERS["bulksms"](gateway)


def bulksms_request(recorded):
    documented = payload_json("bulksms/send_request.json")
    [item] = recorded.json()  # the documented body may be one object or an array of them
    assert recorded.method == "POST" and recorded.path == "/v1/messages"
    assert recorded.headers["authorization"].startswith("Basic ")
    assert set(item) <= set(documented), set(item) - set(documented)
    assert item["to"] == documented["to"] and item["from"] == documented["from"] and item["body"] == TEXT
    assert item["deliveryReports"] == "ALL" and len(item["userSuppliedId"]) <= 20
    assert recorded.query["auto-unicode"] == ["true"] and recorded.query["deduplication-id"]


# -- Twilio -----------------------------------------------------------------------------------

TWILIO_TOKEN = "twilio-auth-token"


def twilio(url: str):
    gateway = build_gateway(
        "twilio",
        config={
            "urlTemplate": url,
            "accountSid": "AC0123",
            "messagingServiceSid": "MG3a1f2b4c5d6e7f8091a2b3c4d5e6f708",
        },
        secrets={"authToken": TWILIO_TOKEN},
    )
    return ADAPTERS["twilio"](gateway)


def twilio_request(recorded):
    documented = dict(parse_qsl(payload("twilio/send_request.form").decode()))
    form = {k: v[0] for k, v in recorded.form().items()}
    assert recorded.method == "POST" and recorded.path == "/2010-04-01/Accounts/AC0123/Messages.json"
    assert recorded.headers["content-type"] == "application/x-www-form-urlencoded"
    assert set(form) <= set(documented), set(form) - set(documented)
    assert {k: form[k] for k in ("To", "Body", "MessagingServiceSid")} == {
        k: documented[k] for k in ("To", "Body", "MessagingServiceSid")
    }


def twilio_signed(name: str, *, tamper: bool = False, kind: str = "inbound"):
    from django.conf import settings

    form = payload(name)
    path = f"/webhooks/x/{kind}"
    params = dict(parse_qsl(form.decode(), keep_blank_values=True))
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(f"{settings.SMSPORTAL_PUBLIC_BASE_URL}{path}", params)
    if tamper:
        form = form.replace(b"Body=1", b"Body=2")
    return form_post(path, form, HTTP_X_TWILIO_SIGNATURE=signature)


# -- AWS (End User Messaging SMS send; two-way SMS and delivery events over signed SNS) --------

TOPIC = "arn:aws:sns:us-east-1:111122223333:sms-inbound"


def sns(url: str):
    gateway = build_gateway(
        "sns",
        config={
            "service": "pinpoint-sms-voice-v2",
            "region": "us-east-1",
            "endpointUrl": url,
            "accessKeyId": "testing",
            "originationIdentity": "+12125550101",
            "configurationSetName": "reminders",
            "topicArns": [TOPIC],
        },
        secrets={"secretAccessKey": "testing"},
    )
    return ADAPTERS["sns"](gateway)


def sns_request(recorded):
    documented = payload_json("sns/send_text_message_request.json")
    body = recorded.json()
    assert recorded.headers["x-amz-target"] == "PinpointSMSVoiceV2.SendTextMessage"
    assert set(body) <= set(documented), set(body) - set(documented)
    for key in ("DestinationPhoneNumber", "OriginationIdentity", "MessageBody", "MessageType", "ConfigurationSetName"):
        assert body[key] == documented[key], key
    assert all(isinstance(v, str) for v in body["Context"].values())  # a string map


def sns_envelope(inner: dict, *, tamper: bool = False):
    """The documented Notification envelope around `inner`, signed as SNS signs (test certificate)."""
    from django.conf import settings

    from gateways.simulator import SnsSigner

    signer = SnsSigner()
    settings.SMSPORTAL_SNS_TEST_CERTIFICATE = signer.certificate_pem
    envelope = payload_json("sns/notification_envelope.json")
    envelope["Message"] = json.dumps(inner, separators=(",", ":"))
    envelope["Timestamp"] = datetime.now(UTC).isoformat()  # fresh: old notifications are refused
    signed = signer.sign(envelope)
    if tamper:
        signed["Message"] = signed["Message"].replace("Taken", "Skipped")
    return rf.post("/webhooks/x/in", data=json.dumps(signed), content_type="text/plain; charset=UTF-8")


# -- generic HTTP (courier's External channel as the reference) --------------------------------


def generic(url: str):
    gateway = build_gateway("http", config={"urlTemplate": f"{url}/generic/send", "responseIdField": "id"})
    return ADAPTERS["http"](gateway)


def generic_request(recorded):
    form = {k: v[0] for k, v in recorded.form().items()}
    assert recorded.method == "POST" and recorded.path == "/generic/send"
    assert form == {"text": TEXT, "recipients": "+2349067554729"}


# -- Kannel (smsbox sendsms; DLR and sms-service callbacks carry the per-gateway token) --------


def kannel(url: str):
    gateway = build_gateway(
        "kannel",
        config={"urlTemplate": f"{url}/cgi-bin/sendsms", "username": "smsportal", "from": "+254709000000"},
        secrets={"password": "k-secret"},
    )
    return ADAPTERS["kannel"](gateway)


def kannel_request(recorded):
    query = {k: v[0] for k, v in recorded.query.items()}
    assert recorded.method == "GET" and recorded.path == "/cgi-bin/sendsms" and not recorded.body
    assert {k: query[k] for k in ("username", "password", "to", "text", "from", "dlr-mask")} == {
        "username": "smsportal",
        "password": "k-secret",
        "to": "+254711000001",
        "text": TEXT,
        "from": "+254709000000",
        "dlr-mask": "31",
    }
    assert "coding" not in query  # GSM-7 text: Kannel's default coding
    assert query["dlr-url"].endswith("ref=11111111-1111-1111-1111-111111111111&type=%d&answer=%A")


def kannel_get(name: str, token: str = "tok-current"):
    return rf.get(f"/webhooks/x/in?token={token}&{payload(name).decode()}")


# -- SMS Gateway for Android (signed JSON envelopes) ------------------------------------------

ANDROID_KEY = "android-signing-key"


def android(url: str):
    gateway = build_gateway(
        "android",
        config={"mode": "private", "urlTemplate": url, "username": "sms", "simNumber": 1, "country": "US"},
        secrets={"password": "p", "signingKey": ANDROID_KEY},
    )
    return ADAPTERS["android"](gateway)


def android_request(recorded):
    documented = payload_json("android/send_request.json")
    body = recorded.json()
    assert recorded.method == "POST" and recorded.path == "/3rdparty/v1/messages"
    assert recorded.headers["authorization"].startswith("Basic ")
    assert set(body) <= set(documented), set(body) - set(documented)
    assert body["textMessage"] == {"text": TEXT} and body["phoneNumbers"] == ["+79990001234"]
    assert body["id"] == "11111111-1111-1111-1111-111111111111" and len(body["id"]) <= 36
    assert body["withDeliveryReport"] is True and body["simNumber"] == 1


def android_signed(name: str, *, key: str = ANDROID_KEY, age: int = 0, tamper: bool = False):
    from gateways.providers.android import android_signature

    body = payload(name)
    timestamp = str(int(datetime.now(UTC).timestamp()) - age)
    signature = android_signature(key, body, timestamp)
    if tamper:
        body = body.replace(b"sweet", b"sour")
    return rf.post(
        "/webhooks/x/in",
        data=body,
        content_type="application/json",
        HTTP_X_SIGNATURE=signature,
        HTTP_X_TIMESTAMP=timestamp,
    )


# -- Africa's Talking (form callbacks; the URL's token authenticates) -------------------------


def africastalking(url: str):
    gateway = build_gateway(
        "africastalking",
        config={"urlTemplate": url, "username": "sandbox", "from": "AFRICASTKNG"},
        secrets={"apiKey": "at-key"},
    )
    return ADAPTERS["africastalking"](gateway)


def africastalking_request(recorded):
    documented = dict(parse_qsl(payload("africastalking/send_request.form").decode()))
    form = {k: v[0] for k, v in recorded.form().items()}
    assert recorded.method == "POST" and recorded.path == "/version1/messaging"
    assert recorded.headers["apikey"] == "at-key" and recorded.headers["accept"] == "application/json"
    assert set(form) <= set(documented), set(form) - set(documented)
    assert form == {**documented, "message": TEXT}


def one(to: str) -> OutboundSms:
    return OutboundSms(reference="11111111-1111-1111-1111-111111111111", to=to, text=TEXT)


CONTRACTS = {
    c.type: c
    for c in (
        Contract(
            type="clickatell",
            adapter=clickatell,
            message=one("+27820000001"),
            simulator_name="clickatell",
            success=Answer(202, payload("clickatell/send_response_202.json")),
            success_id="af750c2dc53e4e4c88c39b3b48756d3a",
            check_request=clickatell_request,
            refusal=Answer(401, payload("clickatell/send_error_401.json")),
            refusal_reason="Invalid or missing Auth token",
            retry_after_honoured=True,
            inbound=with_token(lambda p: json_post(p, payload("clickatell/reply_callback.json"))),
            inbound_expected={
                "sender": "+27820000001",
                "recipient": "+27820000000",
                "text": "1",
                "provider_message_id": "b71d513be46f4b29b16c2f354c7eef07",
                "previous_published_message_id": "af750c2dc53e4e4c88c39b3b48756d3a",
                "received_at": at("2024-05-07T08:03:12"),  # `timestamp` is epoch milliseconds
            },
            status=with_token(lambda p: json_post(p, payload("clickatell/status_callback.json"))),
            status_expected={
                "provider_message_id": "af750c2dc53e4e4c88c39b3b48756d3a",
                "status": "delivered",
                "occurred_at": at("2024-05-07T08:03:15"),
            },
            forged=lambda kind: with_token(lambda p: json_post(p, payload("clickatell/reply_callback.json")), "bad")(),
        ),
        Contract(
            type="bulksms",
            adapter=bulksms,
            message=one("+27001234567"),
            simulator_name="bulksms",
            success=Answer(201, payload("bulksms/send_response_201.json")),
            success_id="1674811778896240640",
            check_request=bulksms_request,
            refusal=Answer(401, payload("bulksms/send_error_401.json"), "application/problem+json"),
            refusal_reason="Authentication failed",
            retry_after_honoured=True,
            inbound=with_token(lambda p: json_post(p, payload("bulksms/incoming_message.json"))),
            inbound_expected={
                "sender": "+27001234567",
                "recipient": "+27000000000",
                "text": "1",
                "provider_message_id": "1674813649253834752",
                "previous_published_message_id": "1674811778896240640",
                "received_at": at("2024-05-07T08:03:12"),
            },
            status=with_token(lambda p: json_post(p, payload("bulksms/status_report.json"))),
            status_expected={"provider_message_id": "1674811778896240640", "status": "delivered"},
            forged=lambda kind: with_token(lambda p: json_post(p, payload("bulksms/incoming_message.json")), "bad")(),
        ),
        Contract(
            type="twilio",
            adapter=twilio,
            message=one("+15558675310"),
            simulator_name="twilio",
            success=Answer(201, payload("twilio/send_response_201.json")),
            success_id="SM8f2b0c4e6a8d1f3b5c7e9a0b2d4f6a8c",
            check_request=twilio_request,
            refusal=Answer(400, payload("twilio/send_error_400.json")),
            refusal_reason="21610",
            retry_after_honoured=True,
            inbound=lambda: twilio_signed("twilio/inbound_webhook.form"),
            inbound_expected={
                "sender": "+15558675310",
                "recipient": "+15550001111",
                "text": "1",
                "provider_message_id": "SMa1b2c3d4e5f60718293a4b5c6d7e8f90",
            },
            status=lambda: twilio_signed("twilio/status_callback.form", kind="status"),
            status_expected={
                "provider_message_id": "SM8f2b0c4e6a8d1f3b5c7e9a0b2d4f6a8c",
                "status": "undelivered",
                "error_code": "30003",
            },
            forged=lambda kind: twilio_signed("twilio/inbound_webhook.form", tamper=True),
        ),
        Contract(
            type="sns",
            adapter=sns,
            message=one("+14255550182"),
            simulator_name="aws",
            success=Answer(200, payload("sns/send_text_message_response.json"), "application/x-amz-json-1.0"),
            success_id="862a8790-60a4-4f3c-8a2c-1b8a1f0e2d3c",
            check_request=sns_request,
            refusal=Answer(400, payload("sns/send_error_conflict.json"), "application/x-amz-json-1.0"),
            refusal_reason="ConflictException DESTINATION_PHONE_NUMBER_OPTED_OUT",
            # AWS documents no Retry-After on throttling; the pipeline's backoff applies.
            retry_after_honoured=False,
            inbound=lambda: sns_envelope(payload_json("sns/two_way_sms_payload.json")),
            inbound_expected={
                "sender": "+14255550182",
                "recipient": "+12125550101",
                "text": "Taken",
                "provider_message_id": "cae173d2-66b9-564c-8309-21f858e9fb84",
                "previous_published_message_id": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            },
            status=lambda: sns_envelope(payload_json("sns/delivery_event.json")),
            status_expected={
                "provider_message_id": "862a8790-60a4-4f3c-8a2c-1b8a1f0e2d3c",
                "status": "delivered",
                "occurred_at": at("2024-05-07T08:03:10"),  # `eventTimestamp` is epoch milliseconds
            },
            forged=lambda kind: sns_envelope(payload_json("sns/two_way_sms_payload.json"), tamper=True),
        ),
        Contract(
            type="http",
            adapter=generic,
            message=one("+2349067554729"),
            simulator_name="generic",
            success=Answer(200, payload("generic_http/send_response_200.json")),
            success_id="ext-4711",
            check_request=generic_request,
            refusal=Answer(400, b"invalid recipient", "text/plain"),
            refusal_reason="HTTP 400",
            retry_after_honoured=True,
            inbound=with_token(lambda p: form_post(p, payload("generic_http/receive.form"))),
            inbound_expected={
                "sender": "+2349067554729",
                "text": "Join",
                "received_at": at("2017-06-23T12:30:00.500"),
            },
            status=with_token(lambda p: form_post(p, payload("generic_http/status_delivered.form"))),
            status_expected={"provider_message_id": "12345", "status": "delivered"},
            forged=lambda kind: with_token(lambda p: form_post(p, payload("generic_http/receive.form")), "bad")(),
        ),
        Contract(
            type="kannel",
            adapter=kannel,
            message=one("+254711000001"),
            simulator_name="kannel",
            success=Answer(202, payload("kannel/send_response_202.txt"), "text/html"),
            success_id="11111111-1111-1111-1111-111111111111",  # Kannel has no id: ours, carried by its reports
            check_request=kannel_request,
            refusal=Answer(403, payload("kannel/send_error_403.txt"), "text/html"),
            refusal_reason="Authorization failed for sendsms",
            retry_after_honoured=True,
            inbound=lambda: kannel_get("kannel/sms_service_get.query"),
            inbound_expected={
                "sender": "+254711000001",
                "recipient": "+254709000000",
                "text": "Taken",
                "provider_message_id": "03d94628-8776-4a11-a64d-642670aecb4f",
                "received_at": at("2024-05-07T08:03:12"),
            },
            status=lambda: kannel_get("kannel/dlr_delivered.query"),
            status_expected={
                "provider_message_id": "11111111-1111-1111-1111-111111111111",
                "reference": "11111111-1111-1111-1111-111111111111",
                "status": "delivered",
            },
            forged=lambda kind: kannel_get("kannel/sms_service_get.query", token="bad"),
        ),
        Contract(
            type="android",
            adapter=android,
            message=one("+79990001234"),
            simulator_name="android",
            success=Answer(202, payload("android/send_response_202.json")),
            success_id="PyDmBQZZXYmyxMwED8Fzy",
            check_request=android_request,
            refusal=Answer(400, payload("android/send_error_400.json")),
            refusal_reason="An error occurred",
            retry_after_honoured=True,
            inbound=lambda: android_signed("android/sms_received.json"),
            inbound_expected={
                "sender": "+16505551212",
                "recipient": "+1234567890",
                "text": "Android is always a sweet treat!",
                "provider_message_id": "Ey6ECgOkVVFjz3CL48B8C",  # the event id: `messageId` is content-derived
                "received_at": at("2024-06-22T08:46:11"),
            },
            status=lambda: android_signed("android/sms_delivered.json"),
            status_expected={
                "provider_message_id": "msg-789",
                "reference": "msg-789",
                "status": "delivered",
                "occurred_at": at("2026-02-17T19:10:00"),
            },
            forged=lambda kind: android_signed("android/sms_received.json", tamper=True),
        ),
        Contract(
            type="africastalking",
            adapter=africastalking,
            message=one("+254711000123"),
            simulator_name="africastalking",
            success=Answer(201, payload("africastalking/send_response_201.json")),
            success_id="ATPid_SampleTxnId123",
            check_request=africastalking_request,
            refusal=Answer(401, payload("africastalking/send_error_401.txt"), "text/plain"),
            refusal_reason="The supplied authentication is invalid",
            retry_after_honoured=True,
            inbound=with_token(lambda p: form_post(p, payload("africastalking/incoming_message.form"))),
            inbound_expected={
                "sender": "+254711000123",
                "recipient": "21525",
                "text": "Taken",
                "provider_message_id": "2f4aae5b-2b2f-4c1b-9f3f-3f6b0d2a4e11",
                "received_at": at("2024-05-07T08:03:12"),
            },
            status=with_token(lambda p: form_post(p, payload("africastalking/delivery_report_success.form"))),
            status_expected={"provider_message_id": "ATXid_bd20e1a9d4d6c1c2ed6b8a6d6e1d45a2", "status": "delivered"},
            forged=lambda kind: with_token(
                lambda p: form_post(p, payload("africastalking/incoming_message.form")), "bad"
            )(),
        ),
    )
}

contract = pytest.mark.parametrize("c", CONTRACTS.values(), ids=list(CONTRACTS))


def test_every_adapter_has_a_contract():
    assert set(ADAPTERS) - NOT_PROVIDERS == set(CONTRACTS)


@pytest.fixture
def stand_in(settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    with ReplayServer() as server:
        yield server


# -- sending ----------------------------------------------------------------------------------


@contract
def test_send_success_documented(c, stand_in):
    stand_in.answer = c.success

    [result] = c.adapter(stand_in.url).send_batch([c.message])

    assert result.accepted and result.reference == c.message.reference
    assert result.provider_message_id == c.success_id
    [recorded] = stand_in.requests
    c.check_request(recorded)


@contract
def test_send_success_simulator(c, provider_simulator):
    [result] = c.adapter(provider_simulator.url).send_batch([c.message])

    assert result.accepted and result.provider_message_id in provider_simulator.messages
    [recorded] = provider_simulator.requests_for(c.simulator_name)
    c.check_request(recorded)


@contract
def test_refusal_fails_with_the_providers_reason_and_is_not_retried(c, stand_in):
    stand_in.answer = c.refusal

    with pytest.raises(GatewayRejectedError) as exc:
        c.adapter(stand_in.url).send_batch([c.message])

    assert c.refusal_reason in str(exc.value)
    assert len(stand_in.requests) == 1  # the adapter itself never retries


@contract
def test_rate_limit_is_retried_after_the_providers_delay(c, stand_in):
    stand_in.answer = Answer(429, b'{"__type": "ThrottlingException"}', headers={"Retry-After": "7"})

    with pytest.raises(GatewayTemporaryError) as exc:
        c.adapter(stand_in.url).send_batch([c.message])

    assert exc.value.result_code == "RESULT_CODE_429"
    assert exc.value.retry_after == (7.0 if c.retry_after_honoured else None)


@contract
def test_server_error_is_retried(c, stand_in):
    stand_in.answer = Answer(503, b'{"__type": "ServiceUnavailable"}')

    with pytest.raises(GatewayTemporaryError):
        c.adapter(stand_in.url).send_batch([c.message])


@contract
def test_read_timeout_is_unknown_never_resent_blindly(c, stand_in, settings):
    settings.SMSPORTAL_HTTP_TIMEOUT = 0.3
    stand_in.answer = Answer(c.success.status, c.success.body, c.success.content_type, hold=True)

    with pytest.raises(GatewayAmbiguousError):
        c.adapter(stand_in.url).send_batch([c.message])
    stand_in.release()


# -- webhooks ---------------------------------------------------------------------------------


def _adapter(c):
    return c.adapter("http://127.0.0.1:9")


@contract
def test_inbound_documented_payload_is_parsed(c):
    adapter, request = _adapter(c), c.inbound()

    adapter.verify_request(request, kind="inbound")
    [reply] = adapter.parse_inbound(request)

    assert {k: getattr(reply, k) for k in c.inbound_expected} == c.inbound_expected


@contract
def test_status_documented_payload_is_parsed(c):
    adapter, request = _adapter(c), c.status()

    adapter.verify_request(request, kind="status")
    [update] = adapter.parse_status(request)

    assert {k: getattr(update, k) for k in c.status_expected} == c.status_expected


@contract
def test_forged_or_unauthenticated_webhook_is_refused(c):
    with pytest.raises(WebhookValidationError):
        _adapter(c).verify_request(c.forged("inbound"), kind="inbound")
