"""The reconciler's status lookups beyond Twilio: BulkSMS by our `userSuppliedId`, and Clickatell,
whose public API has none (docs/reliability.md). Both database modes."""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from gateways.providers.base import LookupAnswer, OutboundSms
from gateways.providers.bulksms import lookup_answer, user_supplied_id
from messaging.models import OutboundMessage
from messaging.services import delivery
from messaging.services.reconcile import outbound_reconcile
from tests.factories import GatewayFactory

pytestmark = pytest.mark.django_db(transaction=True)
PAYLOADS = Path(__file__).resolve().parent.parent / "payloads" / "bulksms"


@pytest.fixture
def bulksms(organization, provider_simulator):
    return GatewayFactory(
        organization=organization,
        type="bulksms",
        config={"urlTemplate": f"{provider_simulator.url}/v1/messages", "username": "demo"},
        secrets={"password": "secret"},
    )


def _unknown(organization, gateway, settings, count):
    long_ago = timezone.now() - timedelta(seconds=settings.SMSPORTAL_SEND_LEASE_SECONDS + 5)
    return [
        OutboundMessage.objects.create(
            organization=organization,
            recipient=f"+2700123{n:04d}",
            body="Time for your 8am dose.",
            source="portal",
            gateway=gateway,
            status="unknown",
            unknown_at=long_ago,
            claimed_at=long_ago,
        )
        for n in range(count)
    ]


def test_the_reconciler_resolves_what_bulksms_has_and_requeues_what_it_never_received(
    organization, bulksms, provider_simulator, settings
):
    had, never = _unknown(organization, bulksms, settings, 2)
    delivery.send_batch_paced(
        delivery.get_adapter(bulksms), [OutboundSms(reference=str(had.id), to=had.recipient, text=had.body)]
    )  # BulkSMS got `had`; its answer was lost

    assert outbound_reconcile() == {"resolved": 1, "requeued": 1}

    had.refresh_from_db()
    never.refresh_from_db()
    assert had.status == "sent" and had.provider_message_id in provider_simulator.messages
    assert never.status == "sent"  # queued again and (eager) sent: BulkSMS now has it once
    assert sorted(provider_simulator.received("bulksms").values()) == [1, 1]
    assert outbound_reconcile() == {"resolved": 0, "requeued": 0}  # nothing left to ask about


def test_a_bulksms_lookup_the_stand_in_refuses_changes_nothing(organization, bulksms, provider_simulator, settings):
    bulksms.secrets = {}  # no token secret: BulkSMS answers 401
    bulksms.save()
    [message] = _unknown(organization, bulksms, settings, 1)

    assert outbound_reconcile() == {"resolved": 0, "requeued": 0}

    message.refresh_from_db()
    assert message.status == "unknown" and not provider_simulator.messages


def test_clickatell_has_no_lookup_so_its_unknown_messages_wait_for_their_report(
    organization, provider_simulator, settings
):
    clickatell = GatewayFactory(
        organization=organization,
        type="clickatell",
        config={"urlTemplate": f"{provider_simulator.url}/messages"},
        secrets={"authToken": "key"},
    )
    [message] = _unknown(organization, clickatell, settings, 1)

    assert outbound_reconcile() == {"resolved": 0, "requeued": 0}

    message.refresh_from_db()
    assert message.status == "unknown" and not provider_simulator.messages


def _documented_entries(reference: str) -> list[dict]:
    """BulkSMS's documented message entry (tests/payloads/bulksms), carrying our id as we send it."""
    entries = json.loads((PAYLOADS / "status_lookup_retrieve_messages.json").read_text())
    for entry in entries:
        entry["userSuppliedId"] = user_supplied_id(reference)
    return entries


def test_the_lookup_reads_the_documented_retrieve_messages_entry():
    ours = OutboundSms(reference="9f1c2d3e-4b5a-4c6d-8e7f-0a1b2c3d4e5f", to="+27001234567", text="x")
    entries = _documented_entries(ours.reference)

    assert lookup_answer(entries, ours) == LookupAnswer(provider_message_id="1674811778896240640", status="delivered")
    assert lookup_answer([], ours) == LookupAnswer()  # provably never received
    assert lookup_answer(entries * 2, ours) is None  # twice: not ours to decide
    elsewhere = OutboundSms(reference=ours.reference, to="+27009999999", text="x")
    assert lookup_answer(entries, elsewhere) is None  # our id, another number: undecided
    assert lookup_answer({"detail": "not a list"}, ours) is None
