"""Twilio adapter against the simulator over real HTTP, and X-Twilio-Signature checks."""

import base64
from urllib.parse import urlencode

import pytest

from gateways.exceptions import (
    GatewayAmbiguousError,
    GatewayRejectedError,
    GatewayTemporaryError,
    WebhookValidationError,
)
from gateways.providers.base import OutboundSms
from gateways.providers.twilio import EMPTY_TWIML, TwilioAdapter
from gateways.simulator import twilio_signature
from tests.gateways.conftest import build_gateway

SID = "AC" + "0" * 32
ONE = [OutboundSms(reference="11111111-1111-1111-1111-111111111111", to="+15558675310", text="Time for your dose")]


def adapter_for(sim=None, secrets=None, **config):
    config = {"accountSid": SID, "from": "+15550001111", **config}
    if sim is not None:
        config["urlTemplate"] = sim.url
    return TwilioAdapter(build_gateway("twilio", config=config, secrets=secrets or {"authToken": "tok-auth"}))


def test_form_post_with_basic_auth_and_status_callback(sim, settings):
    settings.SMSPORTAL_PUBLIC_BASE_URL = "https://sms.example.org"
    adapter = adapter_for(sim)

    [result] = adapter.send_batch(ONE)

    [request] = sim.requests_for("twilio")
    assert request.method == "POST" and request.path == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(f"{SID}:tok-auth".encode()).decode()
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form() == {
        "To": ["+15558675310"],
        "Body": ["Time for your dose"],
        "From": ["+15550001111"],
        # Our message id travels in each message's callback URL: its report resolves it even
        # if the sid was never recorded (docs/reliability.md).
        "StatusCallback": [f"https://sms.example.org/webhooks/{adapter.gateway.pk}/status?ref={ONE[0].reference}"],
    }
    assert result.accepted and result.provider_message_id.startswith("SM")
    assert result.result_code == "RESULT_CODE_202"


def test_messaging_service_replaces_from(sim):
    adapter_for(sim, messagingServiceSid="MG123").send_batch(ONE)

    form = sim.requests_for("twilio")[0].form()
    assert form["MessagingServiceSid"] == ["MG123"] and "From" not in form


def test_batch_goes_out_one_request_per_message_in_parallel(sim):
    messages = [OutboundSms(reference=f"r{n}", to=f"+1555867{n:04d}", text="Dose") for n in range(20)]

    results = adapter_for(sim).send_batch(messages)

    assert len(sim.requests_for("twilio")) == 20
    assert sorted(r.reference for r in results) == sorted(m.reference for m in messages)
    assert len({r.provider_message_id for r in results}) == 20


def test_invalid_number_fails_only_that_message_in_a_batch(sim):
    sim.behave(error_code="21211", times=1)
    messages = [OutboundSms(reference=f"r{n}", to=f"+1555867{n:04d}", text="Dose") for n in range(3)]

    results = adapter_for(sim).send_batch(messages)

    failed = [r for r in results if not r.accepted]
    assert len(failed) == 1 and "21211" in failed[0].error and failed[0].result_code == "RESULT_CODE_400"
    assert sum(r.accepted for r in results) == 2


def test_error_classes_for_a_single_message(sim, settings):
    sim.behave(error_code="21610", times=1)
    with pytest.raises(GatewayRejectedError, match="21610"):
        adapter_for(sim).send_batch(ONE)

    sim.behave(status=429, error_code="20429", times=1)
    with pytest.raises(GatewayTemporaryError) as exc:
        adapter_for(sim).send_batch(ONE)
    assert exc.value.result_code == "RESULT_CODE_429"

    sim.behave(status=500, times=1)
    with pytest.raises(GatewayTemporaryError):
        adapter_for(sim).send_batch(ONE)

    with pytest.raises(GatewayRejectedError) as exc:
        adapter_for(sim, secrets={"authToken": ""}).send_batch(ONE)
    assert exc.value.result_code == "RESULT_CODE_401"

    settings.SMSPORTAL_HTTP_TIMEOUT = 0.3
    sim.behave(delay=1.0, times=1)
    with pytest.raises(GatewayAmbiguousError):
        adapter_for(sim).send_batch(ONE)


def _signed_post(rf, url_path, form, token="tok-auth", base="https://sms.example.org"):
    request = rf.post(url_path, data=urlencode(form), content_type="application/x-www-form-urlencoded")
    request.META["HTTP_X_TWILIO_SIGNATURE"] = twilio_signature(token, f"{base}{url_path}", form)
    return request


STATUS_FORM = {
    "MessageSid": "SM8f",
    "SmsSid": "SM8f",
    "MessageStatus": "undelivered",
    "SmsStatus": "undelivered",
    "ErrorCode": "30003",
    "To": "+15558675310",
    "From": "+15550001111",
    "AccountSid": SID,
    "ApiVersion": "2010-04-01",
    "SomeNewParameter": "Twilio adds parameters without notice",
}


def test_signature_is_checked_against_the_public_url(rf, settings):
    settings.SMSPORTAL_PUBLIC_BASE_URL = "https://sms.example.org"
    adapter = adapter_for()
    request = _signed_post(rf, "/webhooks/abc/status", STATUS_FORM)

    adapter.verify_request(request, kind="status")  # does not raise
    [update] = adapter.parse_status(request)

    assert (update.provider_message_id, update.status, update.error_code) == ("SM8f", "undelivered", "30003")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda r: r.META.update(HTTP_X_TWILIO_SIGNATURE="bm90IGEgc2lnbmF0dXJl"),
        lambda r: r.META.pop("HTTP_X_TWILIO_SIGNATURE"),
    ],
    ids=["wrong", "missing"],
)
def test_bad_or_missing_signature_is_refused(rf, settings, tamper):
    settings.SMSPORTAL_PUBLIC_BASE_URL = "https://sms.example.org"
    request = _signed_post(rf, "/webhooks/abc/status", STATUS_FORM)
    tamper(request)

    with pytest.raises(WebhookValidationError):
        adapter_for().verify_request(request, kind="status")


def test_signature_over_a_different_host_is_refused(rf, settings):
    settings.SMSPORTAL_PUBLIC_BASE_URL = "https://sms.example.org"
    request = _signed_post(rf, "/webhooks/abc/status", STATUS_FORM, base="https://attacker.example")

    with pytest.raises(WebhookValidationError):
        adapter_for().verify_request(request, kind="status")


def test_secondary_auth_token_is_accepted_during_rotation(rf, settings):
    settings.SMSPORTAL_PUBLIC_BASE_URL = "https://sms.example.org"
    adapter = adapter_for(secrets={"authToken": "new-token", "secondaryAuthToken": "old-token"})

    adapter.verify_request(_signed_post(rf, "/webhooks/abc/inbound", STATUS_FORM, token="old-token"), kind="inbound")


def test_inbound_message_and_empty_twiml_reply(rf):
    form = {"MessageSid": "SMa1", "From": "+15558675310", "To": "+15550001111", "Body": "1", "NumMedia": "0"}
    adapter = adapter_for()

    [sms] = adapter.parse_inbound(rf.post("/i", data=urlencode(form), content_type="application/x-www-form-urlencoded"))
    response = adapter.webhook_response("inbound")

    assert (sms.sender, sms.text, sms.provider_message_id) == ("+15558675310", "1", "SMa1")
    assert response["Content-Type"] == "text/xml" and response.content.decode() == EMPTY_TWIML


@pytest.mark.parametrize("status", ["queued", "accepted", "sending", "receiving", "scheduled"])
def test_non_final_statuses_change_nothing(rf, status):
    form = {**STATUS_FORM, "MessageStatus": status, "SmsStatus": status}

    assert (
        adapter_for().parse_status(
            rf.post("/s", data=urlencode(form), content_type="application/x-www-form-urlencoded")
        )
        == []
    )
