"""The outbound pipeline with the simulator gateway (embedded mode: tasks run inline)."""

import pytest

from gateways.exceptions import GatewayTemporaryError
from gateways.providers.base import StatusUpdate
from gateways.providers.simulator import SimulatorAdapter
from messaging.models import OptOut, OutboundMessage
from messaging.services.delivery import outbound_deliver
from messaging.services.outbound import messages_queue
from messaging.services.status import outbound_status_apply

pytestmark = pytest.mark.django_db(transaction=True)


def test_queued_message_is_sent_through_the_gateway_after_commit(organization, gateway):
    result = messages_queue(
        organization=organization, recipients=["+12025550101"], body="Take your pill", source="portal"
    )

    message = OutboundMessage.objects.get(pk=result.messages[0].pk)
    assert message.status == "sent"
    assert message.provider_message_id.startswith("sim-")
    assert [m.to for m in SimulatorAdapter.outbox] == ["+12025550101"]


def test_opted_out_recipient_of_a_batch_is_failed_with_the_reason(organization, gateway):
    OptOut.objects.create(organization=organization, phone_number="+12025550102")

    result = messages_queue(
        organization=organization, recipients=["+12025550101", "+12025550102"], body="Hi", source="dhis2_api"
    )

    statuses = dict(
        OutboundMessage.objects.filter(batch_id=result.messages[0].batch_id).values_list("recipient", "status")
    )
    assert statuses == {"+12025550101": "sent", "+12025550102": "failed"}
    assert OutboundMessage.objects.get(recipient="+12025550102").error_reason == "opted out"


def test_redelivered_task_never_sends_twice(organization, gateway):
    result = messages_queue(organization=organization, recipients=["+12025550101"], body="Hi", source="portal")

    outbound_deliver(message_ids=[str(result.messages[0].pk)])

    assert len(SimulatorAdapter.outbox) == 1


def test_temporary_failure_is_retried_then_failed_with_reason(organization, gateway, settings, monkeypatch):
    settings.SMSPORTAL_SEND_MAX_ATTEMPTS = 2

    def refuse(self, messages):
        raise GatewayTemporaryError("provider answered 503")

    monkeypatch.setattr(SimulatorAdapter, "send_batch", refuse)
    message = messages_queue(
        organization=organization, recipients=["+12025550101"], body="Hi", source="portal"
    ).messages[0]
    message.refresh_from_db()
    assert message.status == "queued" and message.attempts == 1 and message.next_attempt_at is not None

    OutboundMessage.objects.filter(pk=message.pk).update(next_attempt_at=None)
    outbound_deliver(message_ids=[str(message.pk)])

    message.refresh_from_db()
    assert message.status == "failed"
    assert message.error_reason == "retries exhausted: provider answered 503"


def test_delivery_reports_only_move_forward(organization, gateway):
    message = messages_queue(
        organization=organization, recipients=["+12025550101"], body="Hi", source="portal"
    ).messages[0]
    message.refresh_from_db()
    pid = message.provider_message_id

    outbound_status_apply(gateway=gateway, update=StatusUpdate(provider_message_id=pid, status="delivered"))
    outbound_status_apply(gateway=gateway, update=StatusUpdate(provider_message_id=pid, status="sent"))

    message.refresh_from_db()
    assert message.status == "delivered" and message.delivered_at is not None


def test_a_lower_report_racing_a_higher_one_never_overwrites_it(organization, gateway, monkeypatch):
    """Two reports for one message at the same moment: "sent" reads the row, then "delivered" is
    written by another worker before "sent" writes. The message must stay delivered."""
    from django.db.models import QuerySet

    message = messages_queue(
        organization=organization, recipients=["+12025550101"], body="Hi", source="portal"
    ).messages[0]
    OutboundMessage.objects.filter(pk=message.pk).update(status="unknown")  # awaiting reports
    pid = OutboundMessage.objects.get(pk=message.pk).provider_message_id
    read = QuerySet.first
    raced = []

    def read_then_lose_the_race(queryset):
        row = read(queryset)
        if not raced and row is not None and row.pk == message.pk:
            raced.append(True)  # the other worker's report commits between our read and our write
            outbound_status_apply(gateway=gateway, update=StatusUpdate(provider_message_id=pid, status="delivered"))
        return row

    monkeypatch.setattr(QuerySet, "first", read_then_lose_the_race)
    outbound_status_apply(gateway=gateway, update=StatusUpdate(provider_message_id=pid, status="sent"))

    message.refresh_from_db()
    assert raced and message.status == "delivered" and message.delivered_at is not None
