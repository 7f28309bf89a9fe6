"""SSRF: IPv6 encodings of private IPv4 addresses are refused everywhere a URL is configured; AWS
endpoints are AWS's own; a refused address is refused before connecting (no port-probe oracle)."""

import socket
import threading

import pytest

from gateways.exceptions import GatewayRejectedError
from gateways.models import Gateway
from gateways.providers.base import OutboundSms
from gateways.providers.bulksms import BulkSmsAdapter
from gateways.urlsafety import address_is_public
from plugins.models import PluginRegistration
from tests.gateways.conftest import build_gateway

PRIVATE_IN_DISGUISE = [
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "2002:a00:1::1",  # 6to4 of 10.0.0.1
    "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254 (cloud metadata)
    "64:ff9b:1::a00:1",  # local-use NAT64 of 10.0.0.1
    "::ffff:10.0.0.1",  # IPv4-mapped
    "::127.0.0.1",  # IPv4-compatible
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
]


@pytest.mark.parametrize("address", PRIVATE_IN_DISGUISE)
def test_ipv6_encodings_of_private_ipv4_addresses_are_not_public(address):
    assert not address_is_public(address)


@pytest.mark.parametrize("address", ["2002:5db8:d822::1", "64:ff9b::5db8:d822", "2606:2800:220:1::1"])
def test_ipv6_encodings_of_public_addresses_stay_public(address):
    assert address_is_public(address)


@pytest.mark.django_db
@pytest.mark.parametrize("address", PRIVATE_IN_DISGUISE[:4])
def test_a_gateway_url_with_a_disguised_private_address_is_a_400(api_client, settings, address):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = False
    body = {"type": "http", "name": "x", "urlTemplate": f"http://[{address}]:8080/send"}
    response = api_client.post("/api/gateways", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["response"]["field"] == "urlTemplate"
    assert not Gateway.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "endpoint",
    ["https://[2002:7f00:1::]:4566", "http://sns.us-east-1.amazonaws.com", "https://sns.us-east-1.evil.example"],
)
def test_an_aws_endpoint_url_must_be_aws_outside_development(api_client, settings, endpoint):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = False
    body = {"type": "sns", "name": "x", "region": "us-east-1", "endpointUrl": endpoint}
    response = api_client.post("/api/gateways", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["response"]["field"] == "endpointUrl"
    assert not Gateway.objects.exists()


def test_the_aws_send_refuses_a_non_aws_endpoint(settings):
    from gateways.providers.sns import SnsAdapter

    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = False
    adapter = SnsAdapter(build_gateway("sns", config={"region": "us-east-1", "endpointUrl": "https://[::1]:4566"}))
    with pytest.raises(GatewayRejectedError, match="refused"):
        adapter.send_batch([OutboundSms(reference="r", to="+27001234567", text="Hi")])


@pytest.mark.django_db
@pytest.mark.parametrize("address", ["64:ff9b::7f00:1", "2002:7f00:1::"])
def test_a_plugin_endpoint_with_a_disguised_private_address_is_a_400(api_client, settings, address):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = False
    body = {"name": "p", "url": f"https://[{address}]/hook", "entityTypes": ["patient"], "actions": ["_incomingSms"]}
    response = api_client.post("/api/v1/plugins/", body, format="json")
    assert response.status_code == 400, response.content
    assert response.json().get("field") == "url"
    assert not PluginRegistration.objects.exists()


def test_refused_addresses_give_one_error_whether_the_port_is_open_or_closed(provider_simulator, settings):
    sim = provider_simulator
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))  # bound, never listening: connecting would be refused
    closed_port = closed.getsockname()[1]
    errors = []
    try:
        settings.SMSPORTAL_ALLOW_PRIVATE_URLS = False
        for url in (f"{sim.url}/v1/messages", f"http://127.0.0.1:{closed_port}/v1/messages"):
            adapter = BulkSmsAdapter(build_gateway("bulksms", config={"urlTemplate": url}))
            with pytest.raises(Exception) as caught:
                adapter.send_batch([OutboundSms(reference="r", to="+27001234567", text="Hi")])
            errors.append((type(caught.value), str(caught.value)))
    finally:
        closed.close()

    assert errors[0] == errors[1]
    assert errors[0][0] is GatewayRejectedError
    assert sim.requests_for("bulksms") == []


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch, settings):
    """DNS answers that change between the check and the connect (rebinding) are not followed."""
    from gateways.providers import httpbase

    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = False
    answers = iter(["127.0.0.2"] + ["127.0.0.1"] * 10)  # first answer checked, later ones rebound
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if host == "rebind.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    monkeypatch.setattr("gateways.urlsafety.address_is_public", lambda a: a == "127.0.0.2")
    monkeypatch.setattr(httpbase, "_per_process", {})  # a fresh pool for this test
    listener = socket.socket()
    listener.bind(("127.0.0.2", 0))
    listener.listen(1)
    listener.settimeout(5)
    port = listener.getsockname()[1]
    accepted = []
    try:
        adapter = BulkSmsAdapter(build_gateway("bulksms", config={"urlTemplate": f"http://rebind.test:{port}/v1"}))

        def accept():
            conn, peer = listener.accept()
            accepted.append(peer)
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}")
            conn.close()

        thread = threading.Thread(target=accept)
        thread.start()
        with pytest.raises(GatewayRejectedError, match="HTTP 400"):
            adapter.send_batch([OutboundSms(reference="r", to="+27001234567", text="Hi")])
        thread.join(timeout=5)
    finally:
        listener.close()
    assert accepted, "the request did not reach the checked address"
