"""Fault injection: the production shape on this machine (PostgreSQL, Redis, real Celery worker
processes, the provider stand-in over HTTP on 127.0.0.1, delivery reports through a live server),
with one fault at a time. Every test ends asserting the promise of docs/reliability.md: each
message reached the provider exactly once and ended with its report — none lost, none sent twice.

Marked `faults` (and `services`): skipped on SQLite, failing when SMSPORTAL_REQUIRE_SERVICES=1
and PostgreSQL or Redis is missing.
"""

import pytest

from gateways.webhook_url import gateway_webhook_url
from messaging.models import OutboundMessage
from messaging.services.reconcile import outbound_reconcile, outbound_sweep
from tests.factories import GatewayFactory
from tests.polling import wait_until

SID = "AC" + "f" * 32
AUTH_TOKEN = "fault-auth-token"


@pytest.fixture
def fault_settings(require_postgres, settings, live_server, provider_simulator):
    """Short lease and timeouts, as in production but scaled down; reports reach the live server."""
    settings.SMSPORTAL_PUBLIC_BASE_URL = live_server.url
    settings.SMSPORTAL_HTTP_TIMEOUT = 1.0
    settings.SMSPORTAL_SEND_LEASE_SECONDS = 4  # above every provider call here (timeouts 1–3 s)
    settings.SMSPORTAL_QUEUED_TIMEOUT_SECONDS = 1
    provider_simulator.auto_report = "delivered"
    return settings


@pytest.fixture
def twilio(fault_settings, organization, provider_simulator, live_server):
    """A Twilio gateway at the stand-in; its per-message callbacks come back to the live server."""
    gateway = GatewayFactory(
        organization=organization,
        type="twilio",
        name="Twilio (stand-in)",
        config={"accountSid": SID, "from": "+15550001111", "urlTemplate": provider_simulator.url},
        secrets={"authToken": AUTH_TOKEN},
    )
    gateway.ensure_webhook_token()
    gateway.save()
    return gateway


@pytest.fixture
def bulksms(fault_settings, organization, provider_simulator, live_server):
    gateway = GatewayFactory(
        organization=organization,
        type="bulksms",
        name="BulkSMS (stand-in)",
        config={"urlTemplate": f"{provider_simulator.url}/v1/messages", "username": "demo"},
        secrets={"password": "secret"},
    )
    gateway.ensure_webhook_token()
    gateway.save()
    provider_simulator.status_urls["bulksms"] = gateway_webhook_url(
        gateway=gateway, kind="status", base_url=live_server.url
    )
    return gateway


def numbers(count: int) -> list[str]:
    return [f"+1202555{n:04d}" for n in range(count)]


def beat() -> bool:
    """What beat runs every 30 s: the sweeper, then the reconciler."""
    outbound_sweep()
    outbound_reconcile()
    return True


def settle(ids, *, timeout: float = 90.0, done=("delivered",)) -> None:
    """Run the sweeper and the reconciler (beat's job) until every message is delivered (`done`)."""

    def all_done() -> bool:
        beat()
        return not OutboundMessage.objects.filter(id__in=ids).exclude(status__in=done).exists()

    try:
        wait_until(all_done, timeout, "every message sent, failed or unknown", interval=0.5)
    except AssertionError:
        left = OutboundMessage.objects.filter(id__in=ids).exclude(status__in=done)
        summary = sorted({(m.status, m.error_reason) for m in left[:50]})
        raise AssertionError(f"{left.count()} messages not delivered: {summary}") from None


def assert_each_received_once(simulator, recipients: list[str], provider: str) -> None:
    """The provider stand-in's own count: every recipient exactly once (lost = 0, twice = 0)."""
    received = simulator.received(provider)
    lost = [n for n in recipients if n not in received]
    twice = {n: c for n, c in received.items() if c > 1}
    assert not lost and not twice, f"lost {len(lost)}, sent twice {len(twice)}"
    assert sorted(received) == sorted(recipients)
