"""Gateway test helpers: the provider simulator on an ephemeral port, and request builders."""

import pytest
from django.test import RequestFactory

from gateways.models import Gateway


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
