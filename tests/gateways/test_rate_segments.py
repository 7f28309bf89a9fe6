"""Rate limits counted in segments where the provider counts segments, per gateway and per sender."""

from collections.abc import Sequence

import pytest

from gateways import routing
from gateways.providers.base import Capabilities, OutboundSms, ProviderAdapter, SendResult
from gateways.routing import rate_limit_reserve, send_batch_paced
from tests.gateways.conftest import build_gateway


class Recording(ProviderAdapter):
    type = "recording"
    capabilities = Capabilities(max_batch_size=1, counts_segments=True)

    def __init__(self, gateway):
        super().__init__(gateway)
        self.sent: list[str] = []

    def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        self.sent += [m.reference for m in messages]
        return [SendResult(reference=m.reference, accepted=True, provider_message_id=m.reference) for m in messages]


class PerMessage(Recording):
    capabilities = Capabilities(max_batch_size=1, counts_segments=False)


@pytest.fixture
def waits(monkeypatch):
    """The pacing waits send_batch_paced sleeps for (recorded instead of slept)."""
    recorded: list[float] = []
    monkeypatch.setattr(routing.time, "sleep", recorded.append)
    return recorded


def sms(ref, segments=1, sender=""):
    return OutboundSms(reference=ref, to="+12025550101", text="x", segments=segments, sender=sender)


@pytest.mark.parametrize(("adapter_class", "budget_used"), [(Recording, 6), (PerMessage, 2)])
def test_a_provider_counting_segments_spends_one_slot_per_segment(waits, adapter_class, budget_used):
    gateway = build_gateway("simulator", rate_limit_per_second=10)
    adapter = adapter_class(gateway)

    send_batch_paced(adapter, [sms("a", 3), sms("b", 3)])

    # What is left of the budget shows what the batch used: 6 segments (or 2 messages) at 10/s.
    assert rate_limit_reserve(gateway, 1) == pytest.approx(budget_used / 10, abs=0.05)
    assert adapter.sent == ["a", "b"]


def test_each_sender_number_has_its_own_rate(waits):
    gateway = build_gateway("simulator", sender_rate_limit_per_second=1)
    adapter = Recording(gateway)

    send_batch_paced(
        adapter, [sms("a1", sender="+15550001"), sms("a2", sender="+15550001"), sms("b1", sender="+15550002")]
    )

    assert adapter.sent == ["a1", "a2", "b1"]
    # a2 waits a second behind a1 on its number; b1, on another number, waits for nobody.
    assert len(waits) == 1 and waits[0] == pytest.approx(1.0, abs=0.05)


def test_the_per_sender_rate_counts_segments_too(waits):
    gateway = build_gateway("simulator", sender_rate_limit_per_second=2)
    adapter = Recording(gateway)

    send_batch_paced(adapter, [sms("a1", segments=4, sender="+15550001"), sms("a2", sender="+15550001")])

    assert waits == [pytest.approx(2.0, abs=0.05)]  # 4 segments at 2/s before the next one
