"""The Kannel adapter's sendsms request (without a real Kannel: tests/gateways/test_kannel_real.py
runs the boxes): UCS-2 coding, the deadline as `validity`, the SMSC route, and Kannel's answers."""

from datetime import UTC, datetime, timedelta

import pytest

from gateways.exceptions import GatewayRejectedError, GatewayTemporaryError
from gateways.providers import ADAPTERS
from gateways.providers.base import OutboundSms
from gateways.providers.kannel import kannel_validity_minutes
from tests.gateways.conftest import build_gateway


def _adapter(url: str, **config):
    return ADAPTERS["kannel"](
        build_gateway(
            "kannel",
            config={"urlTemplate": f"{url}/cgi-bin/sendsms", "username": "u", **config},
            secrets={"password": "p"},
        )
    )


def _query(sim) -> dict[str, str]:
    [recorded] = sim.requests_for("kannel")
    return {k: v[0] for k, v in recorded.query.items()}


def test_a_text_outside_gsm7_is_sent_as_ucs2(sim):
    _adapter(sim.url).send_batch([OutboundSms("r-1", "+254711000001", "Dawa ✓")])

    query = _query(sim)
    assert (query["coding"], query["charset"], query["text"]) == ("2", "UTF-8", "Dawa ✓")


def test_route_and_deadline_are_passed_to_kannel(sim):
    deadline = datetime.now(UTC) + timedelta(hours=2)

    _adapter(sim.url, smsc="safaricom").send_batch([OutboundSms("r-1", "+254711000001", "Hi", valid_until=deadline)])

    query = _query(sim)
    assert query["smsc"] == "safaricom" and query["validity"] in ("120", "121")


def test_validity_is_whole_minutes_rounded_up_and_never_zero():
    now = datetime(2026, 1, 1, tzinfo=UTC)

    assert kannel_validity_minutes(now + timedelta(seconds=61), now=now) == 2
    assert kannel_validity_minutes(now - timedelta(minutes=5), now=now) == 1
    assert kannel_validity_minutes(None) is None


@pytest.mark.parametrize(("status", "error"), [(503, GatewayTemporaryError), (403, GatewayRejectedError)])
def test_kannel_refusals(sim, status, error):
    sim.behave(provider="kannel", status=status, times=1)

    with pytest.raises(error):
        _adapter(sim.url).send_batch([OutboundSms("r-1", "+254711000001", "Hi")])


def test_kannel_down_is_temporary_never_ambiguous(settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True

    with pytest.raises(GatewayTemporaryError, match="unreachable"):
        _adapter("http://127.0.0.1:9").send_batch([OutboundSms("r-1", "+254711000001", "Hi")])
