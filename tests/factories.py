"""Shapes of the objects tests build (factory_boy)."""

import factory
from factory.django import DjangoModelFactory

from entities.models import Caregiver, Organization, OrganizationUser, Patient
from gateways.models import Gateway


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
    # 202-555-01xx numbers are fictional but parse as valid US numbers.
    phone = factory.Sequence(lambda n: f"+1202555{n % 10000:04d}")
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


class GatewayFactory(DjangoModelFactory):
    class Meta:
        model = Gateway

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"gateway-{n}")
    type = Gateway.Type.SIMULATOR
    is_default = True
