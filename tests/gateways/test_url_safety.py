"""Outbound URL safety: private, loopback and link-local addresses are refused at send time."""

import json
import urllib.request

import pytest

from gateways.exceptions import GatewayRejectedError
from gateways.providers.base import OutboundSms
from gateways.providers.bulksms import BulkSmsAdapter
from gateways.urlsafety import UnsafeUrlError, address_is_public, url_check
from tests.gateways.conftest import build_gateway


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "100.64.0.1",
        "fc00::1",
    ],
)
def test_private_addresses_are_not_public(address):
    assert not address_is_public(address)


def test_public_address_is_public():
    assert address_is_public("93.184.216.34")


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "not a url", "http://", "http://user:pw@93.184.216.34/", "http://[::1/"]
)
def test_malformed_urls_are_refused(url):
    with pytest.raises(UnsafeUrlError):
        url_check(url, resolve=False)


def test_private_url_is_refused_when_saved(settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = False
    with pytest.raises(UnsafeUrlError, match="private"):
        url_check("http://169.254.169.254/latest/meta-data")
    with pytest.raises(UnsafeUrlError, match="private"):
        url_check("http://localhost:8025/v1/messages")


def test_send_to_a_loopback_url_is_refused_at_send_time_and_nothing_arrives(sim, settings):
    adapter = BulkSmsAdapter(build_gateway("bulksms", config={"urlTemplate": f"{sim.url}/v1/messages"}))
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = False  # the gateway was saved while allowed; the send still checks

    with pytest.raises(GatewayRejectedError, match="refused"):
        adapter.send_batch([OutboundSms(reference="r", to="+27001234567", text="Hi")])

    assert sim.requests_for("bulksms") == []


def test_simulator_control_endpoint_sets_behaviour_and_lists_requests(sim):
    def call(path, payload=None):
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(f"{sim.url}/_sim/{path}", data=data, method="POST" if data else "GET")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    assert call("behave", {"provider": "clickatell", "status": 503, "times": 1})[0] == 200
    status, body = call("requests")
    assert status == 200 and body == {"requests": []}
    request = urllib.request.Request(
        f"{sim.url}/messages", data=b'{"to": ["4712341234"], "content": "x"}', headers={"Authorization": "k"}
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request, timeout=5)
    assert exc.value.code == 503
    assert call("requests")[1]["requests"][0]["provider"] == "clickatell"
