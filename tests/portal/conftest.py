from datetime import date

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from adherence.models import MedicationSchedule
from adherence.services import schedule_save, slots_materialize
from tests.factories import CaregiverFactory, GatewayFactory, OrganizationUserFactory, PatientFactory


def staff_client(organization, username) -> Client:
    user = User.objects.create(username=username)
    OrganizationUserFactory(organization=organization, user=user, first_name=username.title())
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff(organization):
    return staff_client(organization, "nurse")


@pytest.fixture
def other_staff(other_organization):
    return staff_client(other_organization, "intruder")


@pytest.fixture
def patient(organization, gateway):
    return PatientFactory(organization=organization, first_name="Ana", last_name="Lopez", phone="+12025550111")


@pytest.fixture
def caregiver(organization, patient):
    caregiver = CaregiverFactory(organization=organization, first_name="Rosa", phone="+12025550112")
    caregiver.patients.add(patient)
    return caregiver


@pytest.fixture
def other_gateway(other_organization):
    return GatewayFactory(organization=other_organization, name="other simulator")


@pytest.fixture
def med_schedule(organization, patient):
    """Two doses every day (00:00 and 23:59 UTC) with a day-long window, so both are open all day."""
    schedule = schedule_save(
        schedule=MedicationSchedule(
            organization=organization,
            patient=patient,
            medication="Metformin",
            dose_times=["00:00", "23:59"],
            start_date=date(2020, 1, 1),
            timezone="UTC",
            response_window_minutes=1440,
        )
    )
    now = timezone.now()
    slots_materialize(schedules=[schedule], since=now.replace(hour=0, minute=0, second=0, microsecond=0))
    return schedule
