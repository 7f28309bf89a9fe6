"""The Follow up page: the organization's items only, assign / record / close / reopen, live updates,
and the schedule form's per-language preview."""

import pytest
from django.test import TestCase

from adherence.models import FollowUp, FollowUpEvent, MedicationSchedule
from entities.models import OrganizationUser
from messaging.message_templates import MessageTemplate
from tests.factories import FollowUpFactory, OrganizationUserFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def item(organization, patient):
    return FollowUpFactory(
        organization=organization, patient=patient, detail={"missedDoses": 2, "medication": "Aspirin"}
    )


def test_the_list_shows_the_organizations_open_items_and_the_weekly_summary(staff, item, other_organization):
    FollowUpFactory(
        organization=other_organization, patient=PatientFactory(organization=other_organization, first_name="Zed")
    )

    page = staff.get("/portal/follow-up/")

    assert page.status_code == 200
    assert [i.pk for i in page.context["items"]] == [item.pk]
    body = page.content.decode()
    assert "Ana Lopez" in body and "Zed" not in body
    assert 'data-live="followup."' in body
    assert page.context["summary"]["open"] == 1
    assert staff.get("/portal/follow-up/?fragment=1").templates[0].name == "portal/_follow_up_body.html"


def test_another_organizations_item_is_a_404_and_unchanged(other_staff, item):
    assert other_staff.get(f"/portal/follow-up/{item.pk}/").status_code == 404
    response = other_staff.post(f"/portal/follow-up/{item.pk}/action", {"action": "close"})

    assert response.status_code == 404
    item.refresh_from_db()
    assert item.status == "open"


def test_the_items_page_refreshes_its_status_and_activity_but_never_its_forms(staff, other_staff, item, patient):
    from adherence.follow_up import follow_up_assign

    page = staff.get(f"/portal/follow-up/{item.pk}/").content.decode()
    for part in ("status", "activity"):
        assert f'data-fragment-url="?fragment=1&amp;part={part}"' in page
    assert page.count(f'data-entity="{patient.pk}"') == 2  # only this patient's events refresh them
    assert 'name="note"' not in staff.get(f"/portal/follow-up/{item.pk}/?fragment=1&part=status").content.decode()

    nurse = OrganizationUser.objects.get(user__username="nurse")
    history_row = f"to {nurse.full_name}</td>"
    assert history_row not in staff.get(f"/portal/follow-up/{item.pk}/?fragment=1&part=activity").content.decode()
    follow_up_assign(item=item, assignee=nurse, by=None)  # another staff member, elsewhere
    status = staff.get(f"/portal/follow-up/{item.pk}/?fragment=1&part=status")
    activity = staff.get(f"/portal/follow-up/{item.pk}/?fragment=1&part=activity")
    assert f"Assigned to {nurse.full_name}." in status.content.decode()
    assert history_row in activity.content.decode()
    assert other_staff.get(f"/portal/follow-up/{item.pk}/?fragment=1&part=status").status_code == 404


def test_assign_record_close_and_reopen_from_the_page(staff, item, patient):
    nurse = OrganizationUser.objects.get(user__username="nurse")
    url = f"/portal/follow-up/{item.pk}/action"

    staff.post(url, {"action": "assign", "assignee": str(nurse.pk)})
    assert [i.pk for i in staff.get("/portal/follow-up/?view=mine").context["items"]] == [item.pk]
    assert list(staff.get("/portal/follow-up/?view=unassigned").context["items"]) == []

    staff.post(url, {"action": "record", "outcome": "reached", "note": "Restarting today", "close": "1"})
    item.refresh_from_db()
    assert (item.status, item.outcome) == ("closed", "reached")
    assert [i.pk for i in staff.get("/portal/follow-up/?view=closed").context["items"]] == [item.pk]

    staff.post(url, {"action": "reopen", "note": "Missed again"})
    item.refresh_from_db()
    assert item.status == "open"

    history = staff.get(f"/portal/patients/{patient.pk}/").context["follow_up_history"]
    assert [e.kind for e in history] == ["reopened", "closed", "outcome", "assigned"]
    assert all(e.by.username == "nurse" for e in history)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"action": "record", "outcome": "emailed"}, "outcome:"),
        ({"action": "record", "outcome": "note", "note": ""}, "note:"),
        ({"action": "assign", "assignee": "not-a-uuid"}, "assignee:"),
        ({"action": "reopen"}, "status:"),
        ({"action": "explode"}, "action:"),
    ],
)
def test_bad_actions_say_which_field_and_change_nothing(staff, item, data, error):
    response = staff.post(f"/portal/follow-up/{item.pk}/action", data, follow=True)

    assert any(str(m).startswith(error) for m in response.context["messages"])
    assert not FollowUpEvent.objects.exists()
    item.refresh_from_db()
    assert (item.status, item.assigned_to) == ("open", None)


def test_staff_of_another_organization_cannot_be_assigned(staff, item, other_organization):
    outsider = OrganizationUserFactory(organization=other_organization)

    staff.post(f"/portal/follow-up/{item.pk}/action", {"action": "assign", "assignee": str(outsider.pk)})

    item.refresh_from_db()
    assert item.assigned_to is None


def test_the_list_updates_live_when_an_item_opens(organization, patient, monkeypatch):
    from adherence import follow_up

    published = []
    monkeypatch.setattr(follow_up.live, "publish", lambda **kw: published.append(kw))

    with TestCase.captureOnCommitCallbacks(execute=True):
        follow_up.follow_up_open(patient=patient, reason="silent", detail={})

    assert [(p["organization_id"], p["event"]) for p in published] == [(organization.pk, "followup.opened")]


FORM = {
    "medication": "Aspirin",
    "dose_times": "09:00",
    "days_of_week": ["0", "1", "2", "3", "4", "5", "6"],
    "start_date": "2026-02-01",
    "timezone": "Europe/Madrid",
    "confirm_replies": "1",
    "response_window_minutes": "60",
    "active": "on",
}


def test_the_schedule_form_previews_each_language_with_segments_and_encoding(staff, organization, patient):
    MessageTemplate.objects.create(organization=organization, kind="reminder", locale="fr", text="Prenez {medication}")
    data = {**FORM, "reminder_texts": "en: Take {medication}, {first_name}\nru: Примите {medication}", "preview": "1"}

    page = staff.post(f"/portal/patients/{patient.pk}/schedules/new", data)

    assert page.status_code == 200 and not MedicationSchedule.objects.exists()  # a preview saves nothing
    rows = {(r["kind"], r["locale"]): r for r in page.context["previews"]}
    assert rows["reminder", "en"]["text"] == "Take Aspirin, Ana"
    assert (rows["reminder", "en"]["encoding"], rows["reminder", "en"]["segments"]) == ("GSM-7", 1)
    assert rows["reminder", "ru"]["encoding"] == "UCS-2"
    assert rows["reminder", "fr"]["source"] == "organization"
    assert ("caregiver", "en") in rows


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        ("en: Hi {first_name}\nes: Hola {nombre}", "es: unknown placeholder {nombre}"),
        ("en: Hi\nru: " + "Примите лекарство " * 20, "ru: needs 6 segments (UCS-2)"),
    ],
)
def test_a_bad_language_is_a_form_error_naming_the_locale(staff, patient, texts, expected):
    page = staff.post(f"/portal/patients/{patient.pk}/schedules/new", {**FORM, "reminder_texts": texts})

    assert page.status_code == 200
    assert any(expected in e for e in page.context["form"].errors["reminder_texts"])
    assert not MedicationSchedule.objects.exists()


def test_saving_the_form_keeps_follow_up_defaults(staff, patient):
    assert staff.post(f"/portal/patients/{patient.pk}/schedules/new", {**FORM, "reminder_texts": ""}).status_code == 302

    schedule = MedicationSchedule.objects.get()
    assert (schedule.reminder_texts, schedule.follow_up_missed_doses, schedule.follow_up_silent_days) == ({}, 2, 3)
    assert FollowUp.objects.count() == 0


def test_take_it_and_give_back_from_the_list(staff, item):
    nurse = OrganizationUser.objects.get(user__username="nurse")
    url = f"/portal/follow-up/{item.pk}/action"

    assert "Take it" in staff.get("/portal/follow-up/").content.decode()
    staff.post(url, {"action": "assign", "assignee": "me", "next": "/portal/follow-up/"})
    item.refresh_from_db()
    assert item.assigned_to == nurse
    staff.post(url, {"action": "assign", "assignee": "team"})
    item.refresh_from_db()
    assert item.assigned_to is None


def test_recent_doses_are_labelled_as_every_other_portal_date(organization, patient):
    from datetime import UTC, date, datetime

    from portal.selectors.follow_up import recent_doses
    from tests.factories import DoseSlotFactory, MedicationScheduleFactory

    schedule = MedicationScheduleFactory(organization=organization, patient=patient)
    DoseSlotFactory(organization=organization, schedule=schedule, local_date=date(2026, 3, 3), status="missed")

    doses = recent_doses(organization=organization, patient_ids=[patient.pk], now=datetime(2026, 3, 5, tzinfo=UTC))

    assert [(d["day"], d["title"]) for d in doses[patient.pk]] == [("Tue", "Tue 3 Mar 08:00")]  # not "Tue 03 Mar"
