from datetime import UTC, date, datetime

import pytest

from adherence.models import MedicationSchedule
from adherence.services import schedule_save
from tests.factories import CaregiverFactory, PatientFactory

# A Monday in June: no daylight-saving change nearby.
NOW = datetime(2026, 6, 1, 11, 0, tzinfo=UTC)


@pytest.fixture
def patient(organization):
    return PatientFactory(organization=organization, first_name="Ana", last_name="Lopez", phone="+12025550111")


@pytest.fixture
def people(organization, gateway):
    """The demo's three patients, as `seed_demo` makes them (the last one is the demo's follow-up)."""
    return [
        PatientFactory(organization=organization, first_name=name, phone=f"+1202555010{n}", national_id=f"7698{n}")
        for n, name in enumerate(("Zero", "Maria", "Sam"), start=1)
    ]


@pytest.fixture
def caregiver(organization, patient):
    caregiver = CaregiverFactory(organization=organization, first_name="Rosa", phone="+12025550112")
    caregiver.patients.add(patient)
    return caregiver


@pytest.fixture
def med_schedule(organization, patient, gateway):
    """08:00 New York (12:00 UTC in June), 60-minute window."""
    return schedule_save(
        schedule=MedicationSchedule(
            organization=organization,
            patient=patient,
            medication="Metformin",
            dose_times=["08:00"],
            start_date=date(2026, 5, 1),
            timezone="America/New_York",
            reminder_texts={"en": "Hi {first_name}, take {medication} at {time}. Reply 1.", "es": "Hola {first_name}"},
        ),
        now=NOW,
    )
