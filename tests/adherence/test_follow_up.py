"""The Follow up list: missed doses in a row and silence open one item; staff assign, record, close, reopen."""

from datetime import UTC, datetime, timedelta

import pytest

from adherence.follow_up import (
    FollowUpError,
    follow_up_assign,
    follow_up_close,
    follow_up_open,
    follow_up_record,
    follow_up_reopen,
    follow_up_summary,
    follow_up_sweep,
)
from adherence.models import DoseSlot, FollowUp, FollowUpEvent
from adherence.services import dose_reply_record, reminders_send_due, slots_close_missed, slots_materialize
from plugins.models import PluginInvocation
from tests.concurrency import run_concurrently
from tests.factories import (
    FollowUpFactory,
    InboundMessageFactory,
    OrganizationUserFactory,
    PatientFactory,
    PluginRegistrationFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)
DOSE = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def miss(day: int):
    """The dose of June 1 + `day`: reminded, then its window closes without a reply."""
    slots_materialize(now=DOSE + day * DAY)
    reminders_send_due(now=DOSE + day * DAY)
    slots_close_missed(now=DOSE + day * DAY + timedelta(hours=2))


def test_two_missed_doses_in_a_row_open_one_item(patient, med_schedule):
    miss(0)
    assert not FollowUp.objects.exists()  # one miss is not a streak

    miss(1)
    miss(2)  # a third miss keeps the one open item

    item = FollowUp.objects.get()
    assert (item.patient, item.reason, item.status, item.schedule) == (patient, "missed_doses", "open", med_schedule)
    assert item.detail["missedDoses"] == 2 and item.detail["medication"] == "Metformin"
    assert list(item.events.values_list("kind", flat=True)) == ["opened"]


def test_a_taken_dose_breaks_the_streak(patient, organization, med_schedule):
    miss(0)
    reminders_send_due(now=DOSE + DAY)
    dose_reply_record(organization=organization, patient=patient, text="1", received_at=DOSE + DAY)
    slots_close_missed(now=DOSE + DAY + timedelta(hours=2))
    miss(2)

    assert not FollowUp.objects.exists()


def test_the_schedules_count_is_used_and_zero_means_never(med_schedule):
    med_schedule.follow_up_missed_doses = 3
    med_schedule.save()
    miss(0)
    miss(1)
    assert not FollowUp.objects.exists()
    miss(2)
    assert FollowUp.objects.count() == 1

    FollowUp.objects.all().delete()
    med_schedule.follow_up_missed_doses = 0
    med_schedule.save()
    miss(3)
    miss(4)
    miss(5)
    assert not FollowUp.objects.exists()


def test_after_closing_only_new_misses_count(med_schedule):
    miss(0)
    miss(1)
    item = FollowUp.objects.get()
    follow_up_record(item=item, outcome="reached", note="Will restart tomorrow", close=True, now=DOSE + DAY * 1.5)

    miss(2)
    assert FollowUp.objects.filter(status="open").count() == 0
    miss(3)
    assert FollowUp.objects.filter(status="open").count() == 1


def test_opening_concurrently_keeps_one_open_item(patient):
    opened = run_concurrently(
        lambda i: follow_up_open(patient=patient, reason="missed_doses", detail={}) is not None, threads=4
    )

    assert opened.count(True) == 1
    assert FollowUp.objects.filter(status="open").count() == 1


def test_silence_for_the_schedules_days_opens_an_item_once(patient, med_schedule):
    med_schedule.follow_up_missed_doses = 0
    med_schedule.save()
    reminders_send_due(now=DOSE)

    assert follow_up_sweep(now=DOSE + 2 * DAY) == 0  # 3 days by default
    assert follow_up_sweep(now=DOSE + 3 * DAY) == 1
    assert follow_up_sweep(now=DOSE + 4 * DAY) == 0

    item = FollowUp.objects.get()
    assert item.reason == "silent" and item.detail == {"silentDays": 3, "lastReplyAt": None}


def test_a_reply_since_the_reminder_is_not_silence(organization, patient, med_schedule):
    reminders_send_due(now=DOSE)
    InboundMessageFactory(
        organization=organization, entity_type="patient", entity_id=patient.pk, received_at=DOSE + timedelta(hours=1)
    )
    assert follow_up_sweep(now=DOSE + 3 * DAY) == 0  # replied since the reminder
    assert follow_up_sweep(now=DOSE + 5 * DAY) == 0  # … and no reminder since that reply

    reminders_send_due(now=DOSE + DAY)
    assert follow_up_sweep(now=DOSE + 4 * DAY - timedelta(minutes=1)) == 0
    assert follow_up_sweep(now=DOSE + 4 * DAY) == 1  # 3 days after the unanswered reminder


def test_record_close_reopen_are_kept_in_the_history(organization, patient):
    staff = OrganizationUserFactory(organization=organization)
    item = FollowUpFactory(organization=organization, patient=patient)

    follow_up_assign(item=item, assignee=staff)
    follow_up_record(item=item, outcome="not_reached", note="Voicemail")
    follow_up_record(item=item, outcome="visited", note="Home visit, pills fine", close=True)
    follow_up_reopen(item=item, note="Missed again at the clinic")

    item.refresh_from_db()
    assert (item.status, item.closed_at, item.outcome, item.assigned_to) == ("open", None, "visited", staff)
    history = list(FollowUpEvent.objects.filter(patient=patient).order_by("id").values_list("kind", "outcome", "note"))
    assert history == [
        ("assigned", "", ""),
        ("outcome", "not_reached", "Voicemail"),
        ("outcome", "visited", "Home visit, pills fine"),
        ("closed", "", ""),
        ("reopened", "", "Missed again at the clinic"),
    ]


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda item: follow_up_record(item=item, outcome="emailed"), "outcome"),
        (lambda item: follow_up_record(item=item, outcome="note", note="  "), "note"),
        (lambda item: follow_up_record(item=item, outcome="reached", note="x" * 2001), "note"),
        (lambda item: follow_up_reopen(item=item), "status"),
    ],
)
def test_bad_changes_are_refused_naming_the_field(organization, call, field):
    item = FollowUpFactory(organization=organization)

    with pytest.raises(FollowUpError) as exc:
        call(item)

    assert exc.value.field == field
    assert not FollowUpEvent.objects.exists()


def test_another_organizations_staff_cannot_be_assigned(organization, other_organization):
    item = FollowUpFactory(organization=organization)

    with pytest.raises(FollowUpError) as exc:
        follow_up_assign(item=item, assignee=OrganizationUserFactory(organization=other_organization))

    assert exc.value.field == "assignee"
    item.refresh_from_db()
    assert item.assigned_to is None


def test_reopening_while_another_item_of_that_reason_is_open_is_refused(organization, patient):
    old = FollowUpFactory(organization=organization, patient=patient)
    follow_up_close(item=old)
    FollowUpFactory(organization=organization, patient=patient)

    with pytest.raises(FollowUpError, match="already has an open item"):
        follow_up_reopen(item=old)


def test_opening_calls_the_follow_up_plugins_with_the_patient_and_the_item(organization, patient):
    PluginRegistrationFactory(organization=organization, entity_types=["patient"], actions=["_followUpOpened"])
    PluginRegistrationFactory(organization=organization, entity_types=["patient"], actions=["_incomingSms"])

    item = follow_up_open(patient=patient, reason="silent", detail={"silentDays": 3}, now=DOSE)

    invocation = PluginInvocation.objects.get()
    assert invocation.action == "_followUpOpened" and invocation.event_key == f"_followUpOpened:{item.pk}"
    payload = invocation.payload
    assert payload["metadata"]["actionName"] == "_followUpOpened"
    assert payload["metadata"]["entityTypeName"] == "patient"
    assert payload["data"]["entity"]["_id"] == str(patient.pk)
    assert payload["data"]["additionalData"]["followUp"] == {
        "id": str(item.pk),
        "reason": "silent",
        "status": "open",
        "openedAt": DOSE.isoformat(),
        "assignedToId": None,
        "scheduleId": None,
        "detail": {"silentDays": 3},
    }


def test_the_weekly_summary_counts_open_items_and_the_median_time_to_close(organization, other_organization):
    now = DOSE
    for hours in (2, 4, 30):
        item = FollowUpFactory(organization=organization, opened_at=now - timedelta(days=2))
        follow_up_close(item=item, now=now - timedelta(days=2) + timedelta(hours=hours))
    FollowUpFactory(organization=organization, opened_at=now - timedelta(days=1))
    FollowUpFactory(organization=other_organization, opened_at=now)  # not counted

    summary = follow_up_summary(organization=organization, now=now)

    assert summary["open"] == 1 and summary["unassigned"] == 1
    assert summary["opened_this_week"] == 4 and summary["closed_this_week"] == 3
    assert summary["median_hours_to_close"] == 4.0


def test_missed_slots_of_another_patient_do_not_count(organization, med_schedule):
    other = PatientFactory(organization=organization)
    DoseSlot.objects.filter(schedule=med_schedule).update(patient=other)  # noise check: the schedule decides
    miss(0)
    miss(1)

    assert FollowUp.objects.get().schedule == med_schedule
