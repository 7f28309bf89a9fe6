"""`seed_demo`'s past doses come with the messages behind them (the reminder each reminded dose
got, the reply each confirmed one got), and a consent program to look at."""

from datetime import timedelta

import pytest
from django.utils import timezone

from adherence.demo import demo_consent_seed, demo_messages_seed, demo_seed
from adherence.models import DoseConfirmation, DoseSlot
from entities.models_consent import Consent, ConsentProgram
from messaging.models import InboundMessage, OutboundMessage
from tests.portal.conftest import staff_client

pytestmark = pytest.mark.django_db


def test_every_reminded_dose_has_its_reminder_and_every_confirmation_its_reply(organization, gateway, people):
    now = timezone.now()
    demo_seed(organization=organization, now=now)

    reminded = DoseSlot.objects.filter(organization=organization, reminded_at__isnull=False).select_related(
        "reminder", "patient"
    )
    assert reminded.count() > 100
    for slot in reminded:
        sms = slot.reminder
        assert sms is not None and sms.recipient == str(slot.patient.phone) and sms.source == "schedule"
        assert sms.status == "delivered" and sms.gateway == gateway and sms.created_at == slot.reminded_at
        assert slot.patient.first_name in sms.body and sms.sent_at <= sms.delivered_at < now
        assert sms.text.body == sms.body  # the log's text search finds it
    confirmations = DoseConfirmation.objects.filter(organization=organization).select_related("inbound_message")
    for confirmation in confirmations:
        reply = confirmation.inbound_message
        assert reply.received_at == confirmation.received_at and reply.text == confirmation.reply
        assert reply.status == "processed" and reply.entity_id == confirmation.patient_id
        assert reply.in_reply_to_id == confirmation.slot.reminder_id
    assert OutboundMessage.objects.count() == reminded.count()
    assert InboundMessage.objects.count() == confirmations.count()
    assert not OutboundMessage.objects.filter(created_at__gt=now).exists()  # nothing dated at the seeding


def test_the_message_log_and_the_conversation_show_them(organization, gateway, people):
    demo_seed(organization=organization)
    staff = staff_client(organization, "nurse")
    maria = people[1]
    confirmation = DoseConfirmation.objects.filter(patient=maria).select_related("slot__reminder").first()

    log = staff.get("/portal/messages/").content.decode()
    thread = staff.get(f"/portal/conversations/patient/{maria.pk}/").content.decode()

    assert "No messages yet" not in log and "↓ in" in log and "↑ out" in log
    assert confirmation.slot.reminder.body in thread and "✓ Confirmed Metformin 500 mg" in thread


def test_seeding_again_adds_no_messages_and_fills_in_doses_seeded_without_them(
    organization, gateway, people, django_assert_max_num_queries
):
    demo_seed(organization=organization)
    counts = (OutboundMessage.objects.count(), InboundMessage.objects.count())

    demo_seed(organization=organization, now=timezone.now() + timedelta(seconds=1))
    assert (OutboundMessage.objects.count(), InboundMessage.objects.count()) == counts

    # A demo database seeded before messages were: its doses get them, in a few queries.
    DoseSlot.objects.update(reminder=None)
    DoseConfirmation.objects.update(inbound_message=None)
    OutboundMessage.objects.all().delete()
    InboundMessage.objects.all().delete()
    with django_assert_max_num_queries(40):
        demo_messages_seed(organization=organization)
    assert (OutboundMessage.objects.count(), InboundMessage.objects.count()) == counts


def test_a_consent_program_is_seeded_with_some_patients_opted_in(organization, gateway, people):
    demo_seed(organization=organization)
    demo_consent_seed(organization=organization)

    program = ConsentProgram.objects.get(organization=organization)
    assert (program.slug, program.keyword, program.sources) == ("medication-reminders", "MEDS", ["schedule"])
    assert not program.require_consent  # the demo's reminders still reach everyone
    statuses = dict(Consent.objects.filter(program=program).values_list("entity_id", "status"))
    assert statuses == {people[0].pk: "opted_in", people[1].pk: "opted_in"}
    page = staff_client(organization, "nurse").get(f"/portal/patients/{people[0].pk}/").content.decode()
    assert "Medication reminders" in page and "No programs yet" not in page


def test_the_gateway_that_sent_the_demo_reminders_is_working_on_the_overview(organization, gateway, people):
    from smsportal.overview import _health

    demo_seed(organization=organization)

    gateway.refresh_from_db()
    assert gateway.last_success_at == max(OutboundMessage.objects.values_list("sent_at", flat=True))
    assert _health(gateway, timezone.now())[0] == "working"  # not "not used yet" beside today's delivered reminders
