"""Clickatell adapter against the simulator over real HTTP."""

import json

import pytest

from gateways.exceptions import GatewayAmbiguousError, GatewayRejectedError, GatewayTemporaryError
from gateways.providers.base import OutboundSms
from gateways.providers.clickatell import ClickatellAdapter, decode_text
from tests.gateways.conftest import build_gateway

MESSAGES = [
    OutboundSms(reference="11111111-1111-1111-1111-111111111111", to="+27820000001", text="Dose time"),
    OutboundSms(reference="22222222-2222-2222-2222-222222222222", to="+27820000002", text="Dose time"),
]


def adapter_for(sim, secrets=None, **config):
    return ClickatellAdapter(
        build_gateway(
            "clickatell",
            config={"urlTemplate": f"{sim.url}/messages", **config},
            secrets=secrets if secrets is not None else {"authToken": "api-key-1"},
        )
    )


def test_one_request_per_text_with_the_api_key_header_and_numbers_without_plus(sim):
    results = adapter_for(sim).send_batch(MESSAGES)

    [request] = sim.requests_for("clickatell")
    assert request.method == "POST" and request.path == "/messages"
    assert request.headers["Authorization"] == "api-key-1"
    assert request.headers["X-Version"] == "1"
    assert request.headers["Accept"] == "application/json"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {"content": "Dose time", "to": ["27820000001", "27820000002"]}
    assert all(r.accepted and r.result_code == "RESULT_CODE_202" for r in results)
    assert {r.provider_message_id for r in results} == set(sim.messages)


def test_single_message_carries_its_reference_and_sender(sim):
    adapter_for(sim, **{"from": "+27820000000"}).send_batch(MESSAGES[:1])

    assert sim.requests_for("clickatell")[0].json() == {
        "content": "Dose time",
        "to": ["27820000001"],
        "from": "27820000000",
        "clientMessageId": MESSAGES[0].reference,
    }


def test_dhis2_password_is_the_fallback_api_key(sim):
    adapter_for(sim, secrets={"password": "legacy-key"}).send_batch(MESSAGES[:1])

    assert sim.requests_for("clickatell")[0].headers["Authorization"] == "legacy-key"


def test_per_recipient_rejection_is_a_failed_result_with_the_error(sim):
    sim.behave(error_code="105", times=1)

    results = adapter_for(sim).send_batch(MESSAGES)

    assert [r.accepted for r in results] == [False, False]
    assert results[0].error == "105 Invalid destination address."


def test_errors_and_timeout(sim, settings):
    sim.behave(status=401, error_code="1", times=1)
    with pytest.raises(GatewayRejectedError) as exc:
        adapter_for(sim).send_batch(MESSAGES)
    assert exc.value.result_code == "RESULT_CODE_401" and "simulated error" in str(exc.value)

    sim.behave(status=429, times=1)
    with pytest.raises(GatewayTemporaryError) as exc:
        adapter_for(sim).send_batch(MESSAGES)
    assert exc.value.result_code == "RESULT_CODE_429"

    sim.behave(status=503, times=1)
    with pytest.raises(GatewayTemporaryError):
        adapter_for(sim).send_batch(MESSAGES)

    settings.SMSPORTAL_HTTP_TIMEOUT = 0.3
    sim.behave(delay=1.0, times=1)
    with pytest.raises(GatewayAmbiguousError):
        adapter_for(sim).send_batch(MESSAGES)


@pytest.mark.parametrize(
    ("code", "status"), [(3, "sent"), (4, "delivered"), (7, "undelivered"), (10, "undelivered"), (5, "failed")]
)
def test_platform_status_callback_json(rf, code, status):
    adapter = ClickatellAdapter(build_gateway("clickatell"))
    body = {"integrationName": "R", "messageId": "af75", "statusCode": code, "timestamp": "1715068995000"}

    [update] = adapter.parse_status(rf.post("/s", data=json.dumps(body), content_type="application/json"))

    assert (update.provider_message_id, update.status) == ("af75", status)
    assert update.occurred_at.year == 2024
    assert update.error_code == ("" if status in ("sent", "delivered") else str(code))


def test_status_callback_by_get_and_one_api_envelope(rf):
    adapter = ClickatellAdapter(build_gateway("clickatell"))
    one_api = {"event": {"messageStatusUpdate": [{"messageId": "m1", "statusCode": 5, "status": "DEVICE_ACK"}]}}

    [by_get] = adapter.parse_status(rf.get("/s", {"messageId": "af75", "statusCode": "4", "token": "t"}))
    [by_one_api] = adapter.parse_status(rf.post("/s", data=json.dumps(one_api), content_type="application/json"))
    queued = adapter.parse_status(rf.get("/s", {"messageId": "af75", "statusCode": "2"}))

    assert (by_get.status, by_one_api.status, queued) == ("delivered", "delivered", [])


def test_reply_callback_keeps_both_ids(rf):
    adapter = ClickatellAdapter(build_gateway("clickatell"))
    body = {
        "messageId": "af750c2dc53e4e4c88c39b3b48756d3a",
        "replyMessageId": "b71d513be46f4b29b16c2f354c7eef07",
        "fromNumber": "27820000001",
        "toNumber": "27820000000",
        "timestamp": 1715068992000,
        "text": "1",
        "charset": "UTF-8",
    }

    [sms] = adapter.parse_inbound(rf.post("/i", data=json.dumps(body), content_type="application/json"))

    assert sms.sender == "+27820000001" and sms.text == "1"
    assert sms.provider_message_id == "b71d513be46f4b29b16c2f354c7eef07"
    assert sms.previous_published_message_id == "af750c2dc53e4e4c88c39b3b48756d3a"


def test_percent_escaped_charsets_are_decoded():
    assert decode_text("%00H%00i%00%20%26%23", "UTF-16BE") == "Hi \u2623"
    assert decode_text("caf%E9", "ISO-8859-1") == "café"
    assert decode_text("plain", "UTF-8") == "plain"
