"""BulkSMS adapter against the simulator over real HTTP: exact request, success, each error class."""

import base64
import json
import socket

import pytest

from gateways.exceptions import GatewayAmbiguousError, GatewayRejectedError, GatewayTemporaryError
from gateways.providers.base import OutboundSms
from gateways.providers.bulksms import BulkSmsAdapter
from tests.gateways.conftest import build_gateway

MESSAGES = [
    OutboundSms(reference="11111111-1111-1111-1111-111111111111", to="+27001234567", text="Take your 8am dose"),
    OutboundSms(reference="22222222-2222-2222-2222-222222222222", to="+27001234568", text="Take your 9am dose"),
]


def adapter_for(sim, **config):
    return BulkSmsAdapter(
        build_gateway(
            "bulksms",
            config={"urlTemplate": f"{sim.url}/v1/messages", "username": "token-id", **config},
            secrets={"password": "token-secret"},
        )
    )


def test_batch_is_one_post_with_basic_auth_and_a_json_array(sim):
    results = adapter_for(sim).send_batch(MESSAGES)

    [request] = sim.requests_for("bulksms")
    assert request.method == "POST" and request.path == "/v1/messages"
    assert request.query["auto-unicode"] == ["true"] and len(request.query["deduplication-id"][0]) == 32
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"token-id:token-secret").decode()
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == [
        {
            "to": "+27001234567",
            "body": "Take your 8am dose",
            "deliveryReports": "ALL",
            "userSuppliedId": "11111111111111111111",
            "from": {"type": "REPLIABLE"},
        },
        {
            "to": "+27001234568",
            "body": "Take your 9am dose",
            "deliveryReports": "ALL",
            "userSuppliedId": "22222222222222222222",
            "from": {"type": "REPLIABLE"},
        },
    ]
    assert [r.reference for r in results] == [m.reference for m in MESSAGES]
    assert all(r.accepted and r.result_code == "RESULT_CODE_202" for r in results)
    assert {r.provider_message_id for r in results} == set(sim.messages)


def test_configured_sender_replaces_repliable(sim):
    adapter_for(sim, **{"from": "SMSPortal"}).send_batch(MESSAGES[:1])

    assert sim.requests_for("bulksms")[0].json()[0]["from"] == "SMSPortal"


def test_per_message_failure_status_is_a_failed_result(sim):
    sim.behave(error_code="NOT_SENT", times=1)

    [result] = adapter_for(sim).send_batch(MESSAGES[:1])

    assert not result.accepted and not result.temporary
    assert result.error == "FAILED.NOT_SENT" and result.result_code == "FAILED"


@pytest.mark.parametrize(
    ("status", "result_code"), [(429, "RESULT_CODE_429"), (503, "RESULT_CODE_503"), (500, "RESULT_CODE_504")]
)
def test_rate_limit_and_server_errors_are_temporary(sim, status, result_code):
    sim.behave(status=status, retry_after="7", times=1)

    with pytest.raises(GatewayTemporaryError) as exc:
        adapter_for(sim).send_batch(MESSAGES)

    assert exc.value.result_code == result_code and exc.value.retry_after == 7.0


@pytest.mark.parametrize(("status", "result_code"), [(401, "RESULT_CODE_401"), (403, "RESULT_CODE_403")])
def test_client_errors_are_rejections_with_the_problem_title(sim, status, result_code):
    sim.behave(status=status, times=1)

    with pytest.raises(GatewayRejectedError) as exc:
        adapter_for(sim).send_batch(MESSAGES)

    assert exc.value.result_code == result_code
    assert "Simulated error" in str(exc.value)


def test_read_timeout_is_ambiguous(sim, settings):
    settings.SMSPORTAL_HTTP_TIMEOUT = 0.3
    sim.behave(delay=1.0, times=1)

    with pytest.raises(GatewayAmbiguousError):
        adapter_for(sim).send_batch(MESSAGES)


def test_connection_refused_is_temporary(settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    adapter = BulkSmsAdapter(build_gateway("bulksms", config={"urlTemplate": f"http://127.0.0.1:{port}/v1/messages"}))

    with pytest.raises(GatewayTemporaryError) as exc:
        adapter.send_batch(MESSAGES)

    assert exc.value.result_code == "RESULT_CODE_504"


@pytest.mark.parametrize("rendering", ["spec", "nested"])
def test_status_reports_in_both_renderings(sim, rf, rendering):
    adapter = adapter_for(sim)
    sim.bulksms_rendering = rendering
    [result] = adapter.send_batch(MESSAGES[:1])
    captured = []
    sim.session.post = lambda url, json=None, headers=None, **kw: captured.append((json, headers)) or _Ok()

    sim.deliver(result.provider_message_id, "delivered", url="http://smsportal.test/status")
    sim.deliver(result.provider_message_id, "undelivered", url="http://smsportal.test/status")
    updates = [
        adapter.parse_status(rf.post("/s", data=json.dumps(body), content_type="application/json"))[0]
        for body, _ in captured
    ]

    assert captured[0][1]["X-BulkSMS-Event"] == "status-report"
    assert [(u.provider_message_id, u.status) for u in updates] == [
        (result.provider_message_id, "delivered"),
        (result.provider_message_id, "undelivered"),
    ]
    assert updates[1].error_code == "FAILED.HANDSET_ERROR"


@pytest.mark.parametrize(
    "entry",
    [
        {
            "id": "1674813649253834752",
            "type": "RECEIVED",
            "from": "+27001234567",
            "to": "+27000000000",
            "body": "1",
            "encoding": "TEXT",
            "submission": {"id": "2-1", "date": "2024-05-07T08:03:12Z"},
            "relatedSentMessageId": "1674811778896240640",
            "status": {"id": "x", "type": "RECEIVED"},
        },
        {
            "id": "1674813649253834752",
            "type": "RECEIVED",
            "from": {"type": "INTERNATIONAL", "address": "27001234567"},
            "to": {"type": "INTERNATIONAL", "address": "27000000000"},
            "body": {"value": "1", "encoding": {"type": "TEXT"}},
            "submission": {"id": "2-1", "date": "2024-05-07T08:03:12Z", "interface": "API"},
            "relatedSentMessageId": "1674811778896240640",
        },
    ],
    ids=["spec", "nested"],
)
def test_inbound_in_both_renderings(rf, entry):
    adapter = BulkSmsAdapter(build_gateway("bulksms"))

    [sms] = adapter.parse_inbound(rf.post("/i", data=json.dumps([entry]), content_type="application/json"))

    assert (sms.sender, sms.text, sms.provider_message_id) == ("+27001234567", "1", "1674813649253834752")
    assert sms.previous_published_message_id == "1674811778896240640"
    assert sms.received_at.isoformat() == "2024-05-07T08:03:12+00:00"


def test_webhook_activation_ping_and_unknown_statuses_parse_to_nothing(rf):
    adapter = BulkSmsAdapter(build_gateway("bulksms"))
    accepted = [{"id": "1", "type": "SENT", "status": {"id": "ACCEPTED.null", "type": "ACCEPTED", "subtype": None}}]

    assert adapter.parse_status(rf.post("/s", data="[]", content_type="application/json")) == []
    assert adapter.parse_status(rf.post("/s", data=json.dumps(accepted), content_type="application/json")) == []
    assert adapter.parse_inbound(rf.post("/s", data="not json", content_type="application/json")) == []


class _Ok:
    status_code = 200
