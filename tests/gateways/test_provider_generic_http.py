"""Generic HTTP adapter: every DHIS2 generic-gateway field, against the simulator over real HTTP."""

import base64
import json
from urllib.parse import parse_qs

import pytest

from gateways.exceptions import GatewayRejectedError, GatewayTemporaryError
from gateways.providers.base import OutboundSms
from gateways.providers.generic_http import GenericHttpAdapter
from tests.gateways.conftest import build_gateway

ONE = [OutboundSms(reference="11111111-1111-1111-1111-111111111111", to="+4712341234", text='HI "DHIS2" & <you>')]


def adapter_for(sim, secrets=None, **config):
    config = {"urlTemplate": f"{sim.url}/generic/send", **config}
    return GenericHttpAdapter(build_gateway("http", config=config, secrets=secrets))


def test_form_template_with_parameters_headers_confidential_and_encoded_values(sim):
    adapter = adapter_for(
        sim,
        secrets={"parameters": {"password": "s3cret", "X-Api-Key": "key-123"}},
        configurationTemplate="user=${user}&password=${password}&to=${recipients}&text=${text}&sig=${sig}",
        parameters=[
            {"key": "user", "value": "clinic"},
            {"key": "password", "confidential": True},
            {"key": "sig", "value": "abc", "encode": True},
            {"key": "X-Api-Key", "header": True, "classified": True},
        ],
    )

    [result] = adapter.send_batch(ONE)

    [request] = sim.requests_for("generic")
    assert request.method == "POST" and request.path == "/generic/send"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.headers["X-Api-Key"] == "key-123"
    assert request.form() == {
        "user": ["clinic"],
        "password": ["s3cret"],
        "to": ["+4712341234"],
        "text": ['HI "DHIS2" & <you>'],
        "sig": [base64.b64encode(b"abc").decode()],
    }
    assert result.accepted and result.result_code == "RESULT_CODE_200"
    assert result.provider_message_id == ONE[0].reference  # reports identify the message by our id


def test_json_template_escapes_for_json(sim):
    adapter = adapter_for(
        sim,
        contentType="APPLICATION_JSON",
        configurationTemplate='{"to": "${recipients}", "text": "${text}"}',
    )

    adapter.send_batch(ONE)

    request = sim.requests_for("generic")[0]
    assert request.headers["Content-Type"] == "application/json"
    assert request.json() == {"to": "+4712341234", "text": 'HI "DHIS2" & <you>'}


def test_dhis2_text_encoding_switch_form_encodes_the_text_inside_json(sim):
    adapter = adapter_for(
        sim,
        contentType="APPLICATION_JSON",
        configurationTemplate='{"text": "${text}"}',
        dhis2TextEncoding=True,
    )

    adapter.send_batch([OutboundSms(reference="r", to="+4712341234", text="HI DHIS2")])

    assert sim.requests_for("generic")[0].json() == {"text": "HI+DHIS2"}


def test_xml_template_escapes_for_xml(sim):
    adapter = adapter_for(
        sim,
        contentType="APPLICATION_XML",
        configurationTemplate="<sms><to>${recipients}</to><body>${text}</body></sms>",
    )

    adapter.send_batch(ONE)

    request = sim.requests_for("generic")[0]
    assert request.headers["Content-Type"] == "application/xml"
    assert request.body.decode() == (
        "<sms><to>+4712341234</to><body>HI &quot;DHIS2&quot; &amp; &lt;you&gt;</body></sms>"
    )


def test_use_get_puts_the_values_in_the_query_string(sim):
    adapter = adapter_for(sim, useGet=True, messageParameter="message", recipientParameter="recipient")

    adapter.send_batch(ONE)

    request = sim.requests_for("generic")[0]
    assert request.method == "GET" and request.body == b""
    assert request.query == {"message": ['HI "DHIS2" & <you>'], "recipient": ["+4712341234"]}


def test_send_url_parameters_appends_the_body_to_a_post_url(sim):
    adapter = adapter_for(sim, sendUrlParameters=True, configurationTemplate="to=${recipients}&text=${text}")

    adapter.send_batch(ONE)

    request = sim.requests_for("generic")[0]
    assert request.method == "POST" and request.body == b""
    assert request.query["to"] == ["+4712341234"]


def test_recipients_of_one_text_share_a_request_and_other_texts_get_their_own(sim):
    messages = [
        OutboundSms(reference="a", to="+4712341234", text="Dose"),
        OutboundSms(reference="b", to="+4712341235", text="Dose"),
        OutboundSms(reference="c", to="+4712341236", text="Other"),
    ]

    results = adapter_for(sim, configurationTemplate="to=${recipients}&text=${text}").send_batch(messages)

    bodies = sorted(tuple(parse_qs(r.body.decode())["to"]) for r in sim.requests_for("generic"))
    assert bodies == [("+4712341234,+4712341235",), ("+4712341236",)]
    assert sorted(r.reference for r in results if r.accepted) == ["a", "b", "c"]


def test_id_placeholder_sends_one_request_per_message_and_reads_the_provider_id(sim):
    messages = [OutboundSms(reference=f"ref-{n}", to=f"+471234123{n}", text="Dose") for n in range(3)]
    adapter = adapter_for(
        sim,
        contentType="APPLICATION_JSON",
        configurationTemplate='{"id": "${id}", "to": "${recipients}", "text": "${text}"}',
        responseIdField="id",
    )

    results = adapter.send_batch(messages)

    assert sorted(r.json()["id"] for r in sim.requests_for("generic")) == ["ref-0", "ref-1", "ref-2"]
    assert {r.provider_message_id for r in results} == set(sim.messages)


def test_success_text_missing_fails_the_messages(sim):
    [result] = adapter_for(sim, successContains="OK:").send_batch(ONE)

    assert not result.accepted and result.error == "success text not found"


def test_errors_are_classified(sim):
    sim.behave(status=502, times=1)
    with pytest.raises(GatewayTemporaryError):
        adapter_for(sim).send_batch(ONE)
    sim.behave(status=404, times=1)
    with pytest.raises(GatewayRejectedError) as exc:
        adapter_for(sim).send_batch(ONE)
    assert exc.value.result_code == "RESULT_CODE_404"


def test_inbound_and_status_field_names_are_configurable(rf):
    adapter = GenericHttpAdapter(
        build_gateway(
            "http",
            config={
                "inboundFromField": "msisdn",
                "inboundTextField": "message",
                "inboundIdField": "mo_id",
                "statusIdField": "ref",
                "statusField": "state",
                "statusMap": {"DLVRD": "delivered"},
            },
        )
    )

    [sms] = adapter.parse_inbound(rf.post("/i?token=x", {"msisdn": "4712341234", "message": "1", "mo_id": "m-1"}))
    [update] = adapter.parse_status(
        rf.post("/s", data=json.dumps({"ref": "p-1", "state": "DLVRD"}), content_type="application/json")
    )
    unknown = adapter.parse_status(rf.get("/s", {"ref": "p-1", "state": "SOMETHING"}))

    assert (sms.sender, sms.text, sms.provider_message_id) == ("+4712341234", "1", "m-1")
    assert "token" not in sms.raw
    assert (update.provider_message_id, update.status) == ("p-1", "delivered")
    assert unknown == []


def test_read_timeout_is_ambiguous_and_refused_connection_temporary(sim, settings):
    import socket

    from gateways.exceptions import GatewayAmbiguousError

    settings.SMSPORTAL_HTTP_TIMEOUT = 0.3
    sim.behave(delay=1.0, times=1)
    with pytest.raises(GatewayAmbiguousError):
        adapter_for(sim).send_batch(ONE)

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = GenericHttpAdapter(build_gateway("http", config={"urlTemplate": f"http://127.0.0.1:{port}/send"}))
    with pytest.raises(GatewayTemporaryError) as exc:
        closed.send_batch(ONE)
    assert exc.value.result_code == "RESULT_CODE_504"
