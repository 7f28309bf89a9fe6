"""What users of other SMS consoles expect of the portal: sending to a typed number, dose times in the
order of the day, a new schedule that starts today and keeps its title after an error."""

from datetime import date

import pytest
from django.utils import timezone

from adherence.models import MedicationSchedule
from adherence.services import schedule_save
from gateways.providers.simulator import SimulatorAdapter
from messaging.models import OutboundMessage
from tests.factories import OptOutFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def us_organization(organization):
    organization.default_region = "US"
    organization.save()
    return organization


def test_send_to_typed_numbers_reads_national_ones_in_the_organizations_region(staff, us_organization, gateway):
    response = staff.post(
        "/portal/send/", {"body": "Clinic closed Monday", "numbers": "202-555-0199\n+442079460123"}, follow=True
    )

    assert response.redirect_chain[-1][1] == 302 and "2 messages queued." in response.content.decode()
    assert sorted(m.to for m in SimulatorAdapter.outbox) == ["+12025550199", "+442079460123"]
    assert OutboundMessage.objects.filter(source="portal").count() == 2


def test_send_to_typed_numbers_together_with_people_sends_each_number_once(staff, us_organization, patient):
    staff.post("/portal/send/", {"body": "Hi", "people": [f"patient:{patient.pk}"], "numbers": "(202) 555-0111"})

    assert [m.to for m in SimulatorAdapter.outbox] == ["+12025550111"]  # Ana's number, typed too


def test_a_national_number_without_a_region_is_refused_naming_it(staff, organization, gateway):
    response = staff.post("/portal/send/", {"body": "Hi", "numbers": "202-555-0199"})

    assert response.status_code == 200
    errors = response.context["form"].errors["numbers"]
    assert '"202-555-0199"' in errors[0] and "international format" in errors[0]
    assert not OutboundMessage.objects.exists()


@pytest.mark.parametrize(
    "numbers, says",
    [
        ("+1202555ABCD", "letters"),
        ("12", "not a"),
        ("+19005550123", "premium-rate"),
        (",".join(f"+1202555{n:04d}" for n in range(101)), "at most 100"),
    ],
)
def test_bad_typed_numbers_are_refused_and_nothing_is_sent(staff, us_organization, gateway, numbers, says):
    response = staff.post("/portal/send/", {"body": "Hi", "numbers": f"+12025550100, {numbers}"})

    assert response.status_code == 200 and says in " ".join(response.context["form"].errors["numbers"])
    assert not OutboundMessage.objects.exists() and SimulatorAdapter.outbox == []


def test_an_opted_out_typed_number_is_shown_as_not_sent(staff, us_organization, gateway):
    OptOutFactory(organization=us_organization, phone_number="+12025550199")

    response = staff.post("/portal/send/", {"body": "Hi", "numbers": "202-555-0199, 202-555-0123"}, follow=True)

    page = response.content.decode()
    assert "1 message queued." in page and "1 not sent: ••• 0199 (" in page and "opted out" in page
    assert [m.to for m in SimulatorAdapter.outbox] == ["+12025550123"]


def test_dose_times_are_listed_in_the_order_of_the_day(staff, organization, patient):
    schedule_save(
        schedule=MedicationSchedule(
            organization=organization, patient=patient, medication="Metformin", start_date=date(2020, 1, 1),
            dose_times=["20:00", "08:00", "13:30"], timezone="UTC",
        )
    )  # fmt: skip

    page = staff.get(f"/portal/patients/{patient.pk}/").content.decode()

    assert "08:00, 13:30, 20:00" in page


def test_the_schedule_form_saves_dose_times_in_the_order_of_the_day(staff, patient):
    response = staff.post(
        f"/portal/patients/{patient.pk}/schedules/new",
        {"medication": "Aspirin", "dose_times": "21:00, 9:00", "days_of_week": ["0"], "start_date": "2026-02-01",
         "timezone": "UTC", "reminder_texts": "en: Take {medication}", "confirm_replies": "1",
         "response_window_minutes": "60", "caregiver_alert_text": "x"},
    )  # fmt: skip

    assert response.status_code == 302
    assert MedicationSchedule.objects.get().dose_times == ["9:00", "21:00"]


def test_a_new_schedule_starts_today_in_the_organizations_zone(staff, organization, patient):
    organization.timezone = "Pacific/Kiritimati"  # UTC+14: often a day ahead of UTC
    organization.save()

    form = staff.get(f"/portal/patients/{patient.pk}/schedules/new").context["form"]

    local_today = timezone.now().astimezone(__import__("zoneinfo").ZoneInfo("Pacific/Kiritimati")).date()
    assert form["start_date"].value() == local_today


def test_a_new_schedule_is_still_titled_new_after_a_validation_error(staff, patient):
    page = staff.get(f"/portal/patients/{patient.pk}/schedules/new").content.decode()
    assert "<h1>New schedule" in page

    bad = staff.post(f"/portal/patients/{patient.pk}/schedules/new", {"medication": "Aspirin", "timezone": "Mars/X"})

    assert bad.status_code == 200 and bad.context["form"].errors
    assert "<h1>New schedule" in bad.content.decode() and "Edit" not in bad.content.decode().split("<h1>")[1]
