"""Per-group truth about provider calls, reports matched by our id, the reconciler, and the
explicit resend of what may not have been sent (docs/reliability.md). Both database modes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gateways.parking import status_park
from gateways.providers.base import StatusUpdate
from messaging.models import OutboundMessage
from messaging.services import delivery
from messaging.services.outbound import outbound_deliver, outbound_reconcile, outbound_status_apply, outbound_sweep
from tests.factories import GatewayFactory
from tests.portal.conftest import staff_client

pytestmark = pytest.mark.django_db(transaction=True)
SID = "AC" + "e" * 32


@pytest.fixture
def twilio(organization, provider_simulator):
    return GatewayFactory(
        organization=organization,
        type="twilio",
        config={"accountSid": SID, "from": "+15550001111", "urlTemplate": provider_simulator.url},
        secrets={"authToken": "tok"},
    )


def _rows(organization, gateway, count=1, **fields):
    return [
        OutboundMessage.objects.create(
            organization=organization,
            recipient=f"+1202555{n:04d}",
            body="Hi",
            source="portal",
            gateway=gateway,
            **fields,
        )
        for n in range(count)
    ]


def _long_ago(settings):
    return timezone.now() - timedelta(seconds=settings.SMSPORTAL_SEND_LEASE_SECONDS + 5)


class _Killed(BaseException):
    """The worker dies (SIGKILL): nothing after this line of the task runs."""


def test_a_worker_killed_mid_batch_leaves_only_the_group_in_flight_in_doubt(
    organization, twilio, provider_simulator, monkeypatch, settings
):
    rows = _rows(organization, twilio, count=50)
    real = delivery.send_batch_paced
    calls = []

    def second_call_killed(adapter, batch):
        calls.append(len(batch))
        if len(calls) == 2:
            raise _Killed()
        return real(adapter, batch)

    monkeypatch.setattr(delivery, "send_batch_paced", second_call_killed)
    with pytest.raises(_Killed):
        outbound_deliver(message_ids=[str(m.id) for m in rows])

    assert calls == [16, 16]  # in-flight groups of Twilio's parallel requests, not the whole batch
    abandoned = OutboundMessage.objects.filter(id__in=[m.id for m in rows])
    abandoned.update(claimed_at=_long_ago(settings))
    abandoned.filter(send_started_at__isnull=False).update(send_started_at=_long_ago(settings))
    monkeypatch.setattr(delivery, "send_batch_paced", real)
    outbound_sweep()  # re-queues the never-started rows; eager tasks send them at once

    statuses = list(OutboundMessage.objects.filter(id__in=[m.id for m in rows]).values_list("status", flat=True))
    assert statuses.count("unknown") == 16  # only the group in flight at the kill
    assert statuses.count("sent") == 34  # sent before the kill, or never started and sent now
    assert len(provider_simulator.messages) == 34


def test_an_unknown_message_is_resolved_by_a_report_that_names_our_id(organization, gateway):
    [message] = _rows(organization, gateway, status="unknown", unknown_at=timezone.now())

    update = StatusUpdate(provider_message_id="p-1", status="delivered", reference=str(message.id))
    assert outbound_status_apply(gateway=gateway, update=update) is not None

    message.refresh_from_db()
    assert (message.status, message.provider_message_id, message.error_reason) == ("delivered", "p-1", "")


def test_a_bulksms_report_names_a_message_by_the_prefix_of_its_id(organization, gateway):
    first, second = _rows(organization, gateway, count=2, status="unknown", unknown_at=timezone.now())

    update = StatusUpdate(provider_message_id="42", status="sent", reference=second.id.hex[:20])
    outbound_status_apply(gateway=gateway, update=update)

    assert OutboundMessage.objects.get(pk=second.pk).status == "sent"
    assert OutboundMessage.objects.get(pk=first.pk).status == "unknown"


def test_a_report_for_another_organizations_gateway_changes_nothing(organization, other_organization, gateway):
    [message] = _rows(organization, gateway, status="unknown", unknown_at=timezone.now())
    foreign = GatewayFactory(organization=other_organization)

    update = StatusUpdate(provider_message_id="p-9", status="delivered", reference=str(message.id))
    assert outbound_status_apply(gateway=foreign, update=update) is None
    assert OutboundMessage.objects.get(pk=message.pk).status == "unknown"


def test_a_report_arriving_while_the_worker_is_gone_is_applied_by_the_sweeper(organization, gateway, settings):
    [message] = _rows(
        organization, gateway, status="sending", claimed_at=_long_ago(settings), send_started_at=_long_ago(settings)
    )
    update = StatusUpdate(provider_message_id="p-2", status="delivered", reference=str(message.id))
    assert outbound_status_apply(gateway=gateway, update=update) is None  # its sender has not recorded it yet
    status_park(gateway=gateway, update=update)  # as the webhook does

    outbound_sweep()

    message.refresh_from_db()
    assert (message.status, message.provider_message_id) == ("delivered", "p-2")


def test_the_reconciler_resolves_what_twilio_has_and_requeues_what_it_never_received(
    organization, twilio, provider_simulator, settings
):
    long_ago = _long_ago(settings)
    had, never = _rows(organization, twilio, count=2, status="unknown", unknown_at=long_ago, claimed_at=long_ago)
    delivery.send_batch_paced(
        delivery.get_adapter(twilio),
        [delivery.OutboundSms(reference=str(had.id), to=had.recipient, text=had.body, sender="+15550001111")],
    )  # the provider got `had`; its answer was lost

    assert outbound_reconcile() == {"resolved": 1, "requeued": 1}

    had.refresh_from_db()
    never.refresh_from_db()
    assert had.status == "delivered" and had.provider_message_id in provider_simulator.messages
    assert never.status == "sent"  # queued again and (eager) sent: the provider now has it once
    assert sorted(provider_simulator.received("twilio").values()) == [1, 1]


def test_what_stays_unknown_past_the_deadline_is_resent_once_on_request(
    organization, other_organization, gateway, settings
):
    stale = timezone.now() - timedelta(seconds=settings.SMSPORTAL_UNKNOWN_DEADLINE_SECONDS + 5)
    [message] = _rows(organization, gateway, status="unknown", unknown_at=stale)
    client = staff_client(organization, "nurse")

    # Another organization's staff can neither see nor resend it.
    assert staff_client(other_organization, "intruder").post(f"/portal/messages/{message.id}/resend").status_code == 404

    page = client.get(f"/portal/conversations/number/{message.id}/", follow=True)
    assert b"May not have been sent" in page.content

    for _ in range(2):  # a double click resends once
        assert client.post(f"/portal/messages/{message.id}/resend").status_code == 302
    copies = OutboundMessage.objects.exclude(pk=message.pk)
    assert copies.count() == 1 and copies.get().possible_duplicate and copies.get().status == "sent"
    message.refresh_from_db()
    assert message.status == "unknown" and message.resent_as == copies.get().id
    assert (
        b"May not have been sent" not in client.get(f"/portal/conversations/number/{message.id}/", follow=True).content
    )


def test_a_long_batch_keeps_its_group_in_flight_while_the_sweeper_takes_back_the_rest(organization, gateway, settings):
    old = _long_ago(settings)
    in_flight, waiting = _rows(organization, gateway, count=2, status="sending", claimed_at=old)
    OutboundMessage.objects.filter(pk=in_flight.pk).update(send_started_at=timezone.now())

    outbound_sweep()

    assert OutboundMessage.objects.get(pk=in_flight.pk).status == "sending"  # its worker is still on it
    assert OutboundMessage.objects.get(pk=waiting.pk).status == "sent"  # taken back, sent once (eager)
