"""Quiet hours hold every non-dose message — API sends included — until they end."""

from datetime import timedelta

import pytest
from django.utils import timezone

from adherence.models import DoseSlot
from adherence.services import reminder_send
from gateways.providers.simulator import SimulatorAdapter
from messaging.models import OutboundMessage
from messaging.services.outbound import messages_queue

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def quiet_now(organization):
    now = timezone.now()
    organization.timezone = "UTC"
    organization.quiet_hours_start = (now - timedelta(hours=1)).time().replace(second=0, microsecond=0)
    organization.quiet_hours_end = (now + timedelta(hours=1)).time().replace(second=0, microsecond=0)
    organization.save()
    return organization.quiet_hours_release()


def test_an_api_send_in_quiet_hours_is_queued_until_they_end(api_client, gateway, quiet_now):
    response = api_client.post(
        "/notification/v1/sms/send", {"message": "Your results are ready", "phoneNumber": "+12025550101"}, format="json"
    )

    assert response.status_code < 300
    message = OutboundMessage.objects.get()
    assert message.status == "queued" and message.next_attempt_at == quiet_now
    assert SimulatorAdapter.outbox == []


def test_a_dose_reminder_and_an_explicit_not_before(organization, gateway, med_schedule, quiet_now):
    slot = DoseSlot.objects.filter(schedule=med_schedule).select_related("patient", "schedule", "organization").first()

    assert reminder_send(slot=slot)  # dose reminders are exempt

    assert OutboundMessage.objects.get(source="schedule").status == "sent"
    later = timezone.now() + timedelta(hours=3)
    result = messages_queue(
        organization=organization, recipients=["+12025550102"], body="hi", source="system", not_before=later
    )
    held = OutboundMessage.objects.get(pk=result.messages[0].pk)
    assert held.status == "queued" and held.next_attempt_at == later
