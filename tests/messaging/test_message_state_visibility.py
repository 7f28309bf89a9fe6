"""What a user sees of an outbound message's state: `lastUpdated` follows every change, a message
held by quiet hours says until when, and a failover keeps the route it took (tests/gateways/
test_route_history.py sends through a real fallback)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gateways.providers.base import StatusUpdate
from messaging.models import OutboundMessage
from messaging.services.outbound import messages_queue
from messaging.services.status import outbound_status_apply
from portal.selectors import thread_messages
from tests.factories import OutboundMessageFactory, PatientFactory
from tests.portal.conftest import staff_client

pytestmark = pytest.mark.django_db(transaction=True)


def _read(api_client, message_id) -> dict:
    response = api_client.get(f"/api/sms/outbound/{message_id}")
    assert response.status_code == 200, response.content
    return response.json()


def test_last_updated_changes_when_a_delivery_report_arrives(api_client, organization, gateway):
    message = messages_queue(organization=organization, recipients=["+12025550101"], body="Hi", source="api").messages[
        0
    ]
    sent = OutboundMessage.objects.get(pk=message.pk)
    assert sent.status == "sent"  # dispatched eagerly in tests
    OutboundMessage.objects.filter(pk=message.pk).update(updated_at=sent.created_at)
    before = _read(api_client, message.pk)["lastUpdated"]

    update = StatusUpdate(provider_message_id=sent.provider_message_id, status="delivered")
    outbound_status_apply(gateway=gateway, update=update)

    after = _read(api_client, message.pk)
    assert after["deliveryStatus"] == "delivered" and after["lastUpdated"] > before


def test_a_pipeline_update_of_the_state_stamps_updated_at(organization, gateway):
    message = OutboundMessageFactory(organization=organization, gateway=gateway, status="queued")
    old = timezone.now() - timedelta(days=1)
    OutboundMessage.objects.filter(pk=message.pk).update(updated_at=old)
    assert OutboundMessage.objects.get(pk=message.pk).updated_at == old  # an explicit value is kept

    OutboundMessage.objects.filter(pk=message.pk).update(status="failed", error_reason="rejected")
    assert OutboundMessage.objects.get(pk=message.pk).updated_at > old

    OutboundMessage.objects.filter(pk=message.pk).update(updated_at=old)
    row = OutboundMessage.objects.get(pk=message.pk)
    row.status = "queued"
    OutboundMessage.objects.bulk_update([row], ["status"])
    assert OutboundMessage.objects.get(pk=message.pk).updated_at > old


def test_a_message_held_by_quiet_hours_says_until_when_in_the_api_and_the_portal(api_client, organization, gateway):
    now = timezone.now()
    organization.timezone = "UTC"
    organization.quiet_hours_start = (now - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    organization.quiet_hours_end = (now + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    organization.save()
    patient = PatientFactory(organization=organization, phone="+12025550101")
    response = api_client.post(
        "/notification/v1/sms/send", {"message": "Results are ready", "phoneNumber": "+12025550101"}, format="json"
    )
    assert response.status_code < 300, response.content
    message = OutboundMessage.objects.get()

    read = _read(api_client, message.pk)

    release = organization.quiet_hours_release()
    assert read["status"] == "SCHEDULED" or read["deliveryStatus"] == "queued"
    assert read["heldUntil"] == release.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    (item,) = thread_messages(organization=organization, entity=patient)
    assert item.held_until == release
    staff = staff_client(organization, "nurse")
    page = staff.get(f"/portal/conversations/patient/{patient.pk}/").content.decode()
    assert "held until" in page


def test_a_message_not_held_has_no_held_until(api_client, organization, gateway):
    message = messages_queue(organization=organization, recipients=["+12025550101"], body="Hi", source="api").messages[
        0
    ]

    assert _read(api_client, message.pk)["heldUntil"] is None
    assert _read(api_client, message.pk)["routeHistory"] == []
