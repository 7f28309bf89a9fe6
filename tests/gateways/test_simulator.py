"""The provider stand-in's own routing and control API (gateways/simulator/): what the provider
tests, the fault suite and `make simulator` users rely on beyond each provider's wire format."""

import json

import pytest
import requests

ACCOUNT = "AC" + "1" * 32


@pytest.fixture
def sim():
    from gateways.simulator import ProviderSimulator

    with ProviderSimulator() as simulator:
        yield simulator


def test_a_path_no_provider_declares_is_404_and_not_recorded(sim):
    response = requests.post(f"{sim.url}/nowhere", json={"to": ["+12025550101"]}, timeout=5)

    assert response.status_code == 404 and response.json() == {"error": "unknown path"}
    assert list(sim.requests) == [] and sim.messages == {}


def test_each_provider_answers_on_its_own_routes(sim):
    requests.post(
        f"{sim.url}/messages", json={"to": ["12025550101"], "content": "x"}, headers={"Authorization": "k"}, timeout=5
    )
    requests.post(f"{sim.url}/v1/messages", json=[{"to": "+12025550102", "body": "x"}], auth=("u", "p"), timeout=5)
    requests.post(f"{sim.url}/generic/send", data={"to": "+12025550103", "text": "x"}, timeout=5)
    aws_headers = {"X-Amz-Target": "PinpointSMSVoiceV2.SendTextMessage", "Authorization": "AWS4-HMAC-SHA256 x"}
    requests.post(sim.url, json={"DestinationPhoneNumber": "+12025550104"}, headers=aws_headers, timeout=5)

    assert [r.provider for r in sim.requests] == ["clickatell", "bulksms", "generic", "aws"]
    assert {m.to: m.provider for m in sim.messages.values()} == {
        "12025550101": "clickatell",
        "+12025550102": "bulksms",
        "+12025550103": "generic",
        "+12025550104": "aws",
    }


def test_twilio_message_lookup_is_neither_recorded_nor_hit_by_fault_modes(sim):
    messages = f"{sim.url}/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    form = {"To": "+12025550101", "From": "+12025550100", "Body": "hi"}
    assert requests.post(messages, data=form, auth=(ACCOUNT, "token"), timeout=5).status_code == 201
    sim.behave(provider="twilio", status=503)

    listed = requests.get(messages, params={"To": "+12025550101"}, auth=(ACCOUNT, "token"), timeout=5)

    assert listed.status_code == 200 and [m["to"] for m in listed.json()["messages"]] == ["+12025550101"]
    assert len(sim.requests_for("twilio")) == 1
    assert requests.post(messages, data=form, auth=(ACCOUNT, "token"), timeout=5).status_code == 503


def test_control_api_names_an_unknown_provider_and_refuses_a_body_that_is_not_json(sim):
    reply = {"provider": "clickatel", "url": f"{sim.url}/generic/in", "from": "+12025550101", "text": "1"}
    response = requests.post(f"{sim.url}/_sim/reply", data=json.dumps(reply), timeout=5)
    assert response.status_code == 400 and "unknown provider 'clickatel'" in response.json()["error"]

    response = requests.post(f"{sim.url}/_sim/behave", data=b"{not json", timeout=5)
    assert response.status_code == 400 and sim.behaviours == []

    assert requests.post(f"{sim.url}/_sim/nothing", timeout=5).status_code == 404
