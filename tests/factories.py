"""Shapes of the objects tests build (factory_boy)."""

from datetime import UTC, date, datetime, time, timedelta

import factory
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from factory.django import DjangoModelFactory

from adherence.models import DoseConfirmation, DoseSlot, FollowUp, MedicationSchedule, PatientRoster
from audit.models import AuditEntry
from entities.models import (
    ApiKey,
    Caregiver,
    ConsentProgram,
    ConsentRecord,
    Organization,
    OrganizationUser,
    Patient,
)
from gateways.models import Gateway, GatewayRoute
from messaging.message_templates import MessageTemplate
from messaging.models import InboundMessage, KeywordCommand, OptOut, OutboundMessage
from messaging.services.outbound_texts import outbound_text_id
from plugins.models import PluginAction, PluginInvocation, PluginRegistration


class OrganizationFactory(DjangoModelFactory):
    class Meta:
        model = Organization
        django_get_or_create = ("slug",)

    name = factory.Sequence(lambda n: f"Clinic {n}")
    slug = factory.Sequence(lambda n: f"clinic-{n}")


class PersonFactory(DjangoModelFactory):
    organization = factory.SubFactory(OrganizationFactory)
    first_name = factory.Sequence(lambda n: f"First{n}")
    last_name = factory.Sequence(lambda n: f"Last{n}")
    # 202-555-xxxx numbers parse as valid US numbers. 2000-9999 only: tests name 202-555-01xx numbers
    # themselves, and a generated one equal to theirs made a person of another organization share it.
    phone = factory.Sequence(lambda n: f"+1202555{2000 + n % 8000:04d}")
    email = factory.LazyAttribute(lambda o: f"{o.first_name.lower()}@example.org")


class PatientFactory(PersonFactory):
    class Meta:
        model = Patient


class OrganizationUserFactory(PersonFactory):
    class Meta:
        model = OrganizationUser


class CaregiverFactory(PersonFactory):
    class Meta:
        model = Caregiver


class ConsentProgramFactory(DjangoModelFactory):
    class Meta:
        model = ConsentProgram

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Program {n}")
    slug = factory.Sequence(lambda n: f"program-{n}")
    consent_text = "Medication reminders by SMS, up to 3 a day. Reply STOP to end."


class ConsentRecordFactory(DjangoModelFactory):
    """A ledger row as the admin shows it (tests that need the current state use consent_record())."""

    class Meta:
        model = ConsentRecord

    organization = factory.SubFactory(OrganizationFactory)
    program = factory.SubFactory(ConsentProgramFactory, organization=factory.SelfAttribute("..organization"))
    entity_type = "patient"
    entity_id = factory.LazyAttribute(lambda o: PatientFactory(organization=o.organization).pk)
    status = "opted_in"
    source = "portal"
    text = "Medication reminders by SMS, up to 3 a day. Reply STOP to end."


class GatewayFactory(DjangoModelFactory):
    class Meta:
        model = Gateway

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"gateway-{n}")
    type = "simulator"
    is_default = True
    # The simulator reports delivery like a provider; tests about sending see `sent` unless they
    # ask for reports (tests/gateways/test_simulator_reports.py).
    config = factory.LazyAttribute(lambda g: {"deliveryReports": "off"} if g.type == "simulator" else {})


class GatewayRouteFactory(DjangoModelFactory):
    class Meta:
        model = GatewayRoute

    organization = factory.SubFactory(OrganizationFactory)
    prefix = factory.Sequence(lambda n: f"+{254 + n}")
    gateway = factory.SubFactory(GatewayFactory, organization=factory.SelfAttribute("..organization"), is_default=False)


class ApiKeyFactory(DjangoModelFactory):
    class Meta:
        model = ApiKey

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"key-{n}")
    prefix = factory.Sequence(lambda n: f"{n:08x}")
    key_hash = factory.LazyAttribute(lambda o: ApiKey.hash(o.prefix))


class OutboundMessageFactory(DjangoModelFactory):
    class Meta:
        model = OutboundMessage

    organization = factory.SubFactory(OrganizationFactory)
    gateway = factory.SubFactory(GatewayFactory, organization=factory.SelfAttribute("..organization"), is_default=False)
    recipient = factory.Sequence(lambda n: f"+1202555{n % 10000:04d}")
    body = factory.Sequence(lambda n: f"Reminder {n}")
    # As the outbox's services store it: the log's text search reads the texts table.
    text_id = factory.LazyAttribute(lambda o: outbound_text_id(organization_id=o.organization.pk, body=o.body))


class InboundMessageFactory(DjangoModelFactory):
    class Meta:
        model = InboundMessage

    organization = factory.SubFactory(OrganizationFactory)
    gateway = factory.SubFactory(GatewayFactory, organization=factory.SelfAttribute("..organization"), is_default=False)
    originator = factory.Sequence(lambda n: f"+1202555{n % 10000:04d}")
    text = "1"
    received_at = factory.LazyFunction(timezone.now)
    provider_message_id = factory.Sequence(lambda n: f"provider-{n}")


class OptOutFactory(DjangoModelFactory):
    class Meta:
        model = OptOut

    organization = factory.SubFactory(OrganizationFactory)
    phone_number = factory.Sequence(lambda n: f"+1202555{n % 10000:04d}")
    inbound_message = factory.SubFactory(InboundMessageFactory, organization=factory.SelfAttribute("..organization"))


class KeywordCommandFactory(DjangoModelFactory):
    class Meta:
        model = KeywordCommand

    organization = factory.SubFactory(OrganizationFactory)
    keyword = factory.Sequence(lambda n: f"WORD{n}")
    action = KeywordCommand.Action.REPLY
    reply_text = "Thanks"


class PluginRegistrationFactory(DjangoModelFactory):
    class Meta:
        model = PluginRegistration

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"plugin-{n}")
    url = factory.Sequence(lambda n: f"https://plugin-{n}.example.org/hook")
    webhook_secret = factory.LazyFunction(PluginRegistration.new_webhook_secret)


class PluginInvocationFactory(DjangoModelFactory):
    class Meta:
        model = PluginInvocation

    organization = factory.SubFactory(OrganizationFactory)
    registration = factory.SubFactory(PluginRegistrationFactory, organization=factory.SelfAttribute("..organization"))
    inbound_message = factory.SubFactory(InboundMessageFactory, organization=factory.SelfAttribute("..organization"))
    action = PluginAction.choices[0][0]
    event_key = factory.Sequence(lambda n: f"event:{n}")


class MedicationScheduleFactory(DjangoModelFactory):
    class Meta:
        model = MedicationSchedule

    organization = factory.SubFactory(OrganizationFactory)
    patient = factory.SubFactory(PatientFactory, organization=factory.SelfAttribute("..organization"))
    medication = factory.Sequence(lambda n: f"Medication {n}")
    dose_times = ["08:00"]
    start_date = factory.LazyFunction(lambda: timezone.now().date())


class DoseSlotFactory(DjangoModelFactory):
    class Meta:
        model = DoseSlot

    organization = factory.SubFactory(OrganizationFactory)
    schedule = factory.SubFactory(MedicationScheduleFactory, organization=factory.SelfAttribute("..organization"))
    patient = factory.SelfAttribute("schedule.patient")
    local_date = factory.Sequence(lambda n: date(2026, 1, 1) + timedelta(days=n))
    local_time = time(8, 0)
    scheduled_at = factory.LazyAttribute(lambda o: datetime.combine(o.local_date, o.local_time, tzinfo=UTC))
    window_closes_at = factory.LazyAttribute(lambda o: o.scheduled_at + timedelta(hours=1))


class DoseConfirmationFactory(DjangoModelFactory):
    class Meta:
        model = DoseConfirmation

    organization = factory.SubFactory(OrganizationFactory)
    slot = factory.SubFactory(DoseSlotFactory, organization=factory.SelfAttribute("..organization"))
    patient = factory.SelfAttribute("slot.patient")
    inbound_message = factory.SubFactory(InboundMessageFactory, organization=factory.SelfAttribute("..organization"))
    reply = "1"
    received_at = factory.LazyAttribute(lambda o: o.slot.scheduled_at)
    on_time = True


class PatientRosterFactory(PersonFactory):
    class Meta:
        model = PatientRoster


class AuditEntryFactory(DjangoModelFactory):
    class Meta:
        model = AuditEntry

    organization = factory.SubFactory(OrganizationFactory)
    content_type = factory.LazyFunction(lambda: ContentType.objects.get_for_model(Organization))
    object_pk = factory.LazyAttribute(lambda o: str(o.organization.pk))
    object_repr = factory.Sequence(lambda n: f"audited-{n}")
    action = AuditEntry.Action.UPDATE
    changes = factory.LazyFunction(lambda: {"name": ["before", "after"]})


class FollowUpFactory(DjangoModelFactory):
    class Meta:
        model = FollowUp

    organization = factory.SubFactory(OrganizationFactory)
    patient = factory.SubFactory(PatientFactory, organization=factory.SelfAttribute("..organization"))
    reason = FollowUp.Reason.MISSED_DOSES
    detail = factory.LazyFunction(lambda: {"missedDoses": 2})
    opened_at = factory.LazyFunction(timezone.now)


class MessageTemplateFactory(DjangoModelFactory):
    class Meta:
        model = MessageTemplate

    organization = factory.SubFactory(OrganizationFactory)
    kind = "reminder"
    locale = factory.Sequence(lambda n: ["en", "es", "fr", "de", "pt", "it"][n % 6] + ("" if n < 6 else f"-x{n}"))
    text = "Take {medication}"
