"""Portal pages as a staff member sees them, and what another organization's staff cannot see."""

import json
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.utils import timezone

from adherence.models import DoseConfirmation, DoseSlot, MedicationSchedule
from adherence.services import dose_reply_record, reminder_send
from gateways.providers.simulator import SimulatorAdapter
from messaging.models import OutboundMessage
from tests.polling import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def first_slot(schedule):
    return DoseSlot.objects.filter(schedule=schedule).select_related("patient", "schedule", "organization").first()


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/portal/")

    assert response.status_code == 302 and response.url.startswith("/accounts/login/")
    assert client.get("/accounts/login/").status_code == 200


def test_login_with_password_lands_on_today(organization, client):
    from django.contrib.auth.models import User

    from tests.factories import OrganizationUserFactory

    user = User.objects.create_user(username="pat", password="correct horse")
    OrganizationUserFactory(organization=organization, user=user)

    response = client.post("/accounts/login/", {"username": "pat", "password": "correct horse"}, follow=True)

    assert response.redirect_chain[-1][0] == "/portal/"
    assert b"doses today" in response.content


def test_today_lists_doses_with_counts_filters_and_search(staff, med_schedule, patient, organization):
    slot = first_slot(med_schedule)
    reminder_send(slot=slot)
    dose_reply_record(organization=organization, patient=patient, text="1")

    page = staff.get("/portal/").content.decode()

    assert "Ana Lopez" in page and "Metformin" in page and "Taken on time" in page
    counts = staff.get("/portal/?fragment=1").content.decode()
    assert 'data-count="taken">1<' in counts and 'data-count="total">2<' in counts
    assert "Taken on time" not in staff.get("/portal/?status=pending").content.decode()
    assert "Ana Lopez" not in staff.get("/portal/?q=nobody").content.decode()


def test_send_reminder_now_button_sends_once(staff, med_schedule):
    slot = first_slot(med_schedule)

    staff.post(f"/portal/doses/{slot.pk}/remind")
    staff.post(f"/portal/doses/{slot.pk}/remind")

    assert OutboundMessage.objects.filter(source="schedule").count() == 1
    assert len(SimulatorAdapter.outbox) == 1


def test_another_organizations_urls_are_404(other_staff, staff, med_schedule, patient, other_organization):
    slot = first_slot(med_schedule)
    urls = [
        f"/portal/patients/{patient.pk}/",
        f"/portal/patients/{patient.pk}/schedules/new",
        f"/portal/patients/{patient.pk}/schedules/{med_schedule.pk}/",
        f"/portal/conversations/patient/{patient.pk}/",
        f"/portal/conversations/patient/{patient.pk}/?fragment=1",
        f"/portal/simulator/?number={patient.phone}",
    ]
    for url in urls:
        assert staff.get(url).status_code == 200, url
        assert other_staff.get(url).status_code == 404, url
    assert other_staff.post(f"/portal/doses/{slot.pk}/remind").status_code == 404
    assert other_staff.post(f"/portal/conversations/patient/{patient.pk}/send", {"body": "hi"}).status_code == 404
    assert OutboundMessage.objects.count() == 0
    assert "Ana Lopez" not in other_staff.get("/portal/").content.decode()
    assert "Ana Lopez" not in other_staff.get("/portal/conversations/?q=Ana").content.decode()
    assert "Ana Lopez" not in other_staff.get("/portal/send/").content.decode()


def test_user_without_organization_sees_an_explanation(client, db):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create(username="lonely"))

    assert client.get("/portal/").status_code == 403


def test_a_superuser_chooses_which_organization_the_portal_shows(client, organization, other_organization, patient):
    from django.contrib.auth.models import User

    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))

    asked = client.get("/portal/conversations/")
    assert asked.status_code == 302 and asked["Location"].startswith("/portal/organizations/?next=")
    choice = client.get(asked["Location"])
    assert organization.name in choice.content.decode() and other_organization.name in choice.content.decode()

    chosen = client.post(
        "/portal/organizations/", {"organization": str(organization.pk), "next": "/portal/conversations/"}
    )
    assert chosen.status_code == 302 and chosen["Location"] == "/portal/conversations/"
    page = client.get(f"/portal/patients/{patient.pk}/")  # the chosen organization's patient
    assert page.status_code == 200 and organization.name in page.content.decode()

    client.post("/portal/organizations/", {"organization": str(other_organization.pk)})
    assert client.get(f"/portal/patients/{patient.pk}/").status_code == 404
    assert client.post("/portal/organizations/", {"organization": "not-an-id"}).status_code == 404


def test_organization_choice_is_for_superusers_only(staff, other_organization):
    staff.post("/portal/organizations/", {"organization": str(other_organization.pk)})

    page = staff.get("/portal/")
    assert page.status_code == 200 and other_organization.name not in page.content.decode()


def test_thread_shows_messages_both_ways_and_sends(staff, patient, organization):
    response = staff.post(
        f"/portal/conversations/patient/{patient.pk}/send", {"body": "How are you?"}, HTTP_ACCEPT="application/json"
    )

    assert response.status_code == 200, response.content
    assert [(m.to, m.text) for m in SimulatorAdapter.outbox] == [("+12025550111", "How are you?")]
    thread = staff.get(f"/portal/conversations/patient/{patient.pk}/?fragment=1").content.decode()
    assert "How are you?" in thread and "sent" in thread
    assert "Ana Lopez" in staff.get("/portal/conversations/").content.decode()


def test_empty_message_from_the_send_box_is_a_400_naming_the_field(staff, patient):
    response = staff.post(
        f"/portal/conversations/patient/{patient.pk}/send", {"body": " "}, HTTP_ACCEPT="application/json"
    )

    assert response.status_code == 400 and response.json()["field"] == "message"


def test_send_page_sends_to_the_chosen_people(staff, patient, caregiver):
    response = staff.post(
        "/portal/send/", {"body": "Clinic closed Monday", "people": [f"caregiver:{caregiver.pk}"], "all_patients": "on"}
    )

    assert response.status_code == 302
    assert sorted(m.to for m in SimulatorAdapter.outbox) == ["+12025550111", "+12025550112"]
    assert OutboundMessage.objects.filter(source="portal").count() == 2


def test_send_page_without_recipients_explains(staff, patient):
    response = staff.post("/portal/send/", {"body": "Hi"})

    assert response.status_code == 200 and b"Choose at least one recipient" in response.content


def test_text_info_counts_encoding_and_segments(staff):
    assert staff.post("/portal/text-info", {"text": "Hello"}).json() | {} == {
        "encoding": "GSM-7", "segments": 1, "units": 5, "perSegment": 160, "maxSegments": 10,
    }  # fmt: skip
    assert staff.post("/portal/text-info", {"text": "x" * 161}).json()["segments"] == 2
    assert staff.post("/portal/text-info", {"text": "Привет"}).json()["encoding"] == "UCS-2"
    assert staff.post("/portal/text-info", {"text": "€" * 81}).json()["segments"] == 2  # escape pairs: 162 septets


def test_adherence_page_and_csv_export(staff, med_schedule, patient, organization):
    slot = first_slot(med_schedule)
    reminder_send(slot=slot)
    dose_reply_record(organization=organization, patient=patient, text="Medication Taken")

    page = staff.get("/portal/adherence/").content.decode()
    assert "Ana Lopez" in page and "<svg" in page and "100.0%" in page

    today = timezone.now().date()
    export = staff.get(f"/portal/adherence/export.csv?from={today - timedelta(days=1)}&to={today}")
    lines = b"".join(export.streaming_content).decode().splitlines()
    assert lines[0].startswith("patient_id,patient,national_id,medication")
    assert len(lines) == 2 and "Metformin" in lines[1] and lines[1].endswith(",yes,Medication Taken")


@pytest.mark.parametrize("query", ["from=2026-01-01", "from=bad&to=2026-01-02", "from=2026-02-01&to=2026-01-01"])
def test_export_with_bad_dates_is_a_400(staff, query):
    response = staff.get(f"/portal/adherence/export.csv?{query}")

    assert response.status_code == 400


def test_schedule_form_creates_and_reports_errors_by_field(staff, patient):
    data = {
        "medication": "Aspirin",
        "dose_times": "09:00, 21:00",
        "days_of_week": ["0", "1", "2", "3", "4"],
        "start_date": "2026-02-01",
        "end_date": "2026-01-01",
        "timezone": "Mars/Olympus",
        "reminder_texts": "en: Take {medication}\nes: Tome {medication}",
        "confirm_replies": "1, Medication Taken",
        "response_window_minutes": "60",
        "caregiver_alert_text": "{patient_first_name} missed {medication}",
        "active": "on",
    }
    bad = staff.post(f"/portal/patients/{patient.pk}/schedules/new", data)
    assert bad.status_code == 200
    errors = bad.context["form"].errors
    assert "timezone" in errors and "end_date" in errors
    assert not MedicationSchedule.objects.exists()

    data.update(end_date="", timezone="Europe/Madrid")
    good = staff.post(f"/portal/patients/{patient.pk}/schedules/new", data)
    assert good.status_code == 302
    schedule = MedicationSchedule.objects.get()
    assert schedule.dose_times == ["09:00", "21:00"] and schedule.days_of_week == [0, 1, 2, 3, 4]
    assert schedule.reminder_texts == {"en": "Take {medication}", "es": "Tome {medication}"}
    assert schedule.confirm_replies == ["1", "Medication Taken"]


def test_live_stream_carries_only_the_organizations_events(staff, organization, other_organization):
    from messaging import live

    response = staff.get("/portal/live")
    assert response["Content-Type"] == "text/event-stream"
    stream = iter(response.streaming_content)
    assert next(stream) == b"retry: 1000\n\n"

    chunks = []

    # The subscription starts when the stream is read; publish from another thread once it waits.
    import threading

    reader = threading.Thread(target=lambda: chunks.append(next(stream)))
    reader.start()
    wait_until(lambda: live._local_subscribers.get(str(organization.pk)), 5, "the stream's local subscription")
    live.publish(organization_id=other_organization.pk, event="dose.confirmed", data={"slotId": 1})
    live.publish(organization_id=organization.pk, event="dose.confirmed", data={"slotId": 2})
    reader.join(timeout=5)

    assert len(chunks) == 1
    event, data = chunks[0].decode().strip().split("\n")
    assert event == "event: dose.confirmed" and json.loads(data[len("data: ") :])["data"] == {"slotId": 2}
    response.close()


def test_plugin_install_button(staff, organization, other_staff):
    from plugins.models import PluginRegistration

    assert b"Install the medication plugin" in staff.get("/portal/").content
    response = staff.post("/portal/plugin/install", follow=True)

    assert response.status_code == 200 and b"Install the medication plugin" not in response.content
    assert list(PluginRegistration.objects.values_list("organization", flat=True)) == [organization.pk]


def test_phone_simulator_shows_deliveries_and_replies_through_the_inbound_path(staff, med_schedule, organization):
    from adherence.plugin import plugin_install

    plugin_install(organization=organization)
    reminder_send(slot=first_slot(med_schedule))
    phone = staff.get("/portal/simulator/?number=%2B12025550111&fragment=1").content.decode()
    assert "Metformin" in phone

    response = staff.post("/portal/simulator/reply", {"number": "+12025550111", "text": "1"})

    assert response.status_code == 200, response.content
    assert DoseConfirmation.objects.get().on_time
    assert ">1</p>" in staff.get("/portal/simulator/?number=%2B12025550111&fragment=1").content.decode()
    thread = staff.get(f"/portal/conversations/patient/{med_schedule.patient_id}/?fragment=1").content.decode()
    assert ">1</p>" in thread


def test_phone_simulator_refuses_numbers_of_other_organizations_and_empty_replies(staff, other_staff, patient):
    assert other_staff.post("/portal/simulator/reply", {"number": "+12025550111", "text": "1"}).status_code == 404
    empty = staff.post("/portal/simulator/reply", {"number": "+12025550111", "text": " "})
    assert empty.status_code == 400 and empty.json()["field"] == "text"


def test_live_stream_over_redis_pubsub(staff, organization, other_organization, redis_url, settings):
    """Production path: events published by any process reach the stream through Redis."""
    import threading

    from messaging import live

    settings.REDIS_URL = redis_url
    response = staff.get("/portal/live")
    stream = iter(response.streaming_content)
    assert next(stream) == b"retry: 1000\n\n"
    chunks = []

    def read_until_event():
        for _ in range(5):  # keep-alives (": keep-alive") may come first
            chunks.append(next(stream))
            if chunks[-1].startswith(b"event:"):
                return

    reader = threading.Thread(target=read_until_event)
    reader.start()
    client = live.get_redis()
    channel = live.channel_name(organization.pk)
    wait_until(lambda: client.pubsub_numsub(channel)[0][1], 5, "the stream's Redis subscription")
    live.publish(organization_id=other_organization.pk, event="dose.missed", data={"slotId": 1})
    live.publish(organization_id=organization.pk, event="dose.missed", data={"slotId": 3})
    reader.join(timeout=30)

    events = [c for c in chunks if c.startswith(b"event:")]
    assert len(events) == 1 and b"event: dose.missed" in events[0] and b'"slotId": 3' in events[0]
    response.close()


def test_export_quotes_cells_a_spreadsheet_would_run(staff, med_schedule, patient, organization):
    patient.first_name, patient.last_name = "=HYPERLINK(1)", "X"
    patient.save()
    reminder_send(slot=first_slot(med_schedule))
    dose_reply_record(organization=organization, patient=patient, text="1")
    today = timezone.now().date()

    export = staff.get(f"/portal/adherence/export.csv?from={today}&to={today}")

    assert ",'=HYPERLINK(1) X," in b"".join(export.streaming_content).decode()


def test_today_shows_a_reminder_that_could_not_be_delivered(staff, med_schedule, patient, organization):
    from messaging.models import OptOut

    OptOut.objects.create(organization=organization, phone_number=str(patient.phone))
    reminder_send(slot=first_slot(med_schedule))

    assert "not delivered: opted out" in staff.get("/portal/?fragment=1").content.decode()


def test_send_reminder_now_is_refused_hours_before_the_dose_and_labelled_as_a_reminder(staff, med_schedule, settings):
    settings.SMSPORTAL_DOSE_EARLY_MINUTES = 60
    slot = first_slot(med_schedule)
    DoseSlot.objects.filter(pk=slot.pk).update(scheduled_at=timezone.now() + timedelta(hours=6))

    staff.post(f"/portal/doses/{slot.pk}/remind")

    assert OutboundMessage.objects.count() == 0
    DoseSlot.objects.filter(pk=slot.pk).update(scheduled_at=timezone.now() + timedelta(minutes=20))
    staff.post(f"/portal/doses/{slot.pk}/remind")
    thread = staff.get(f"/portal/conversations/patient/{slot.patient_id}/?fragment=1").content.decode()
    assert OutboundMessage.objects.count() == 1 and "Medication reminder" in thread and "Schedule" not in thread


def test_a_full_name_finds_the_person_on_today_and_conversations(staff, med_schedule, patient):
    # First and last name are separate columns: each word must match one of them.
    assert "Ana Lopez" in staff.get("/portal/?q=Ana+Lopez").content.decode()
    assert "Ana Lopez" in staff.get("/portal/?q=lopez+metformin").content.decode()
    assert "Ana Lopez" not in staff.get("/portal/?q=Ana+Okafor").content.decode()
    assert "Ana Lopez" in staff.get("/portal/conversations/?q=Ana+Lopez").content.decode()
    assert "Ana Lopez" not in staff.get("/portal/conversations/?q=Ana+Okafor").content.decode()


def test_phone_simulator_names_the_day_above_each_days_first_message(staff, organization, gateway, patient):
    """Times alone made yesterday's 23:29 read as a moment before today's 00:31."""
    from datetime import UTC, datetime

    from tests.factories import InboundMessageFactory, OutboundMessageFactory

    organization.timezone = "UTC"
    organization.save()
    evening = datetime(2026, 3, 9, 23, 29, tzinfo=UTC)
    OutboundMessageFactory(organization=organization, gateway=gateway, recipient=str(patient.phone),
                           body="Evening dose", status="delivered", sent_at=evening)  # fmt: skip
    InboundMessageFactory(organization=organization, originator=str(patient.phone), text="done",
                          received_at=datetime(2026, 3, 10, 0, 31, tzinfo=UTC))  # fmt: skip
    InboundMessageFactory(organization=organization, originator=str(patient.phone), text="again",
                          received_at=datetime(2026, 3, 10, 0, 40, tzinfo=UTC))  # fmt: skip

    phone = staff.get(f"/portal/simulator/?number={quote(str(patient.phone))}&fragment=1").content.decode()

    assert phone.count('class="day-break"') == 2
    assert phone.index("Mon 9 Mar") < phone.index("Evening dose") < phone.index("Tue 10 Mar") < phone.index("done")
