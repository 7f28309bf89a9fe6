"""While the database is down every API and webhook answers 503 with Retry-After, never 500; the
first request after it is back succeeds.

The outage is real: the test's database connections go through a TCP relay to PostgreSQL that
the test stops (every open connection is cut, new ones are refused) and starts again, as a
PostgreSQL restart does. The shared server itself is never touched.
"""

import socket
import threading
from urllib.parse import urlencode

import pytest
from django.db import connection

from tests.factories import GatewayFactory

pytestmark = pytest.mark.django_db(transaction=True)


class Relay:
    """A loopback TCP relay to (host, port) that can be stopped and started on the same port."""

    def __init__(self, upstream: tuple[str, int]):
        self.upstream = upstream
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", self.port))
        self.port = self._listener.getsockname()[1]
        self._spawn(self._accept, self._listener)

    def stop(self) -> None:
        """Refuse new connections and cut every open one (the peer reads EOF)."""
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in [self._listener, *sockets]:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        for thread in self._threads:
            thread.join(timeout=5)
            assert not thread.is_alive(), "relay thread did not stop"
        self._threads = []

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            server = socket.create_connection(self.upstream, timeout=5)
            server.settimeout(None)
            with self._lock:
                self._sockets += [client, server]
            self._spawn(self._pump, client, server)
            self._spawn(self._pump, server, client)

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
            except OSError:
                break
        for sock in (source, target):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture
def relay(require_postgres):
    """The test's connection goes through a relay to the real PostgreSQL."""
    params = connection.settings_dict
    original = (params["HOST"], params["PORT"])
    relay = Relay((params["HOST"] or "127.0.0.1", int(params["PORT"] or 5432)))
    relay.start()
    connection.close()
    params["HOST"], params["PORT"] = "127.0.0.1", str(relay.port)
    try:
        yield relay
    finally:
        connection.close()
        params["HOST"], params["PORT"] = original
        relay.stop()


@pytest.fixture
def webhook_gateway(organization):
    return GatewayFactory(organization=organization, type="http", is_default=False, secrets={"webhookTokens": ["tok"]})


def _requests(api_client, client, gateway):
    inbound = urlencode({"from": "+4791234567", "text": "hi", "id": "m1"})
    return {
        "send": lambda: api_client.post(
            "/notification/v1/sms/send", {"message": "hi", "phoneNumber": "+4791234567"}, format="json"
        ),
        "outbound list": lambda: api_client.get("/api/sms/outbound"),
        "gateways": lambda: api_client.get("/api/gateways"),
        "dhis2 inbound": lambda: api_client.post("/api/sms/inbound?originator=%2B4791234567&message=hi"),
        "webhook": lambda: client.post(
            f"/webhooks/{gateway.pk}/inbound?token=tok", inbound, content_type="application/x-www-form-urlencoded"
        ),
        "portal": lambda: client.get("/admin/login/"),
    }


def test_every_api_and_webhook_answers_503_with_retry_after_while_the_database_is_down(
    relay, api_client, client, gateway, webhook_gateway
):
    calls = _requests(api_client, client, webhook_gateway)
    assert api_client.get("/api/sms/outbound").status_code == 200

    relay.stop()
    answers = {name: call() for name, call in calls.items()}

    for name, response in answers.items():
        if name == "portal" and response.status_code == 200:
            continue  # the login page needs no database
        assert response.status_code == 503, (name, response.status_code, response.content[:300])
        assert int(response["Retry-After"]) > 0, name

    relay.start()
    assert api_client.get("/api/sms/outbound").status_code == 200, "the first request after the outage"


def test_the_first_request_after_a_restart_succeeds(relay, api_client, client, gateway, webhook_gateway):
    assert api_client.get("/api/sms/outbound").status_code == 200  # a pooled connection now exists

    relay.stop()  # PostgreSQL restarts: the pooled connection is cut while idle
    relay.start()

    response = api_client.get("/api/sms/outbound")
    assert response.status_code == 200, response.content[:300]
    inbound = urlencode({"from": "+4791234567", "text": "hi", "id": "m2"})
    relay.stop()
    relay.start()
    webhook = client.post(
        f"/webhooks/{webhook_gateway.pk}/inbound?token=tok", inbound, content_type="application/x-www-form-urlencoded"
    )
    assert webhook.status_code == 200, webhook.content[:300]
