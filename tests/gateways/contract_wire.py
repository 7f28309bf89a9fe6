"""Each provider's wire format as the adapter contract test drives it (tests/gateways/test_adapter_contract.py):
the request builders, the documented payloads' signers and the Contract record."""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from django.test import RequestFactory
from twilio.request_validator import RequestValidator

from gateways.providers import ADAPTERS
from gateways.providers.base import OutboundSms, ProviderAdapter
from tests.gateways.conftest import build_gateway
from tests.gateways.replay import Answer, payload, payload_json

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
