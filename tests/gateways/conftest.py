"""Gateway test helpers: the provider simulator on an ephemeral port, and request builders."""

import pytest
from django.test import RequestFactory

from gateways.models import Gateway
from tests.factories import GatewayFactory


@pytest.fixture
def sim(provider_simulator):
    return provider_simulator


def build_gateway(type_: str, *, config=None, secrets=None, **kwargs) -> Gateway:
    """An unsaved gateway (adapter tests need no database)."""
    gateway = Gateway(type=type_, name=f"{type_} test", config=config or {}, secrets=secrets or {}, **kwargs)
    gateway.secrets = {"webhookTokens": ["tok-current", "tok-previous"], **(secrets or {})}
    return gateway


@pytest.fixture
def rf():
    return RequestFactory()


@pytest.fixture(scope="module")
def moto_server():
    """A local moto server (AWS stand-in) over real HTTP; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def pair(organization, sim):
    """A BulkSMS primary with a Clickatell fallback, both on the simulator."""
    fallback = GatewayFactory(
        organization=organization,
        name="Backup",
        type="clickatell",
        is_default=False,
        config={"urlTemplate": f"{sim.url}/messages"},
        secrets={"authToken": "k"},
    )
    primary = GatewayFactory(
        organization=organization,
        name="Main",
        type="bulksms",
        config={"urlTemplate": f"{sim.url}/v1/messages", "username": "u"},
        secrets={"password": "p"},
        fallback=fallback,
    )
    return primary, fallback
