"""The demo loop works at any hour: `seed_demo` puts a dose due in a few minutes, one taken and one
missed earlier today (in the organization's time zone), and the Today page says when the next
reminder goes out and why a "Send reminder now" button is absent."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from adherence.demo import DEMO_DUE_SOON, demo_seed, demo_today_seed
from adherence.models import DoseSlot
from entities.models import Organization
from tests.factories import PatientFactory
from tests.portal.conftest import staff_client

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("hour", [0, 3, 9, 14, 21, 23])
@pytest.mark.parametrize("tz", ["UTC", "America/Los_Angeles", "Asia/Kolkata"])
def test_at_any_hour_there_is_a_dose_due_soon_one_taken_and_one_missed(organization, hour, tz):
    organization.timezone = tz
    organization.save()
    PatientFactory(organization=organization, phone="+12025550101")
    now = datetime(2026, 3, 10, hour, 17, 42, tzinfo=UTC)

    demo_seed(organization=organization, now=now)

    slots = DoseSlot.objects.filter(organization=organization)
    due = [s for s in slots if s.status == "scheduled" and now < s.scheduled_at <= now + DEMO_DUE_SOON]
    assert len(due) == 1  # its "Send reminder now" shows at once (from an hour before)
    assert due[0].schedule.timezone == tz
    demo = slots.exclude(local_time__in=["08:00", "20:00"])  # not the schedule's own dose times
    taken = demo.filter(status="taken", scheduled_at__gt=now - timedelta(hours=2)).get()
    assert taken.confirmation.on_time and taken.scheduled_at < now
    missed = demo.filter(status="missed", scheduled_at__gt=now - timedelta(hours=4)).get()
    assert missed.window_closes_at < now


# Just after midnight the demo's taken and missed doses are yesterday's; at 00:59 the second run's
# would fall on today.
@pytest.mark.parametrize("at", [None, (0, 17), (0, 59), (1, 40), (13, 5)])
def test_seeding_again_soon_adds_no_more_demo_doses_and_keeps_the_history(organization, at):
    from adherence.demo import DEMO_HISTORY_DAYS

    PatientFactory(organization=organization, phone="+12025550101")
    now = timezone.now() if at is None else datetime(2026, 3, 10, *at, 30, tzinfo=UTC)
    demo_seed(organization=organization, now=now)
    count = DoseSlot.objects.count()

    assert demo_today_seed(organization=organization, now=now + timedelta(minutes=2)) == []
    assert DoseSlot.objects.count() == count
    history = DoseSlot.objects.filter(local_time__in=["08:00", "20:00"], scheduled_at__lt=now - timedelta(days=1))
    assert history.count() >= 2 * (DEMO_HISTORY_DAYS - 1)


def test_seed_demo_prints_the_due_dose_and_the_ports_url(capsys, monkeypatch, settings):
    settings.SMSPORTAL_PUBLIC_BASE_URL = "http://127.0.0.1:8765"

    call_command("seed_demo")

    out = capsys.readouterr().out
    assert "http://127.0.0.1:8765/portal/" in out and ":8000" not in out
    line = next(line for line in out.splitlines() if line.startswith("Demo dose:"))
    slot = DoseSlot.objects.filter(status="scheduled", scheduled_at__gt=timezone.now()).order_by("scheduled_at")[0]
    assert f"due at {slot.local_time:%H:%M}" in line


def test_the_base_url_follows_port_when_not_configured():
    import os

    from tests.fresh_process import python_run

    env = {k: v for k, v in os.environ.items() if k != "SMSPORTAL_PUBLIC_BASE_URL"}
    code = "import django; django.setup(); from django.conf import settings; print(settings.SMSPORTAL_PUBLIC_BASE_URL)"
    out = python_run(code, {**env, "PORT": "8911"}).stdout
    assert out.strip().endswith("http://127.0.0.1:8911")


def test_today_says_when_the_next_reminder_goes_out_and_why_a_button_is_absent(organization):
    PatientFactory(organization=organization, phone="+12025550101", first_name="Zero")
    demo_seed(organization=organization)
    # A dose of today 90 minutes away, at any hour the suite runs (the schedule's own 20:00 dose is
    # within the hour from 19:00, and its later slots are other days'): its reminder is not due yet.
    later = DoseSlot.objects.filter(status="scheduled").order_by("-scheduled_at").first()
    at = timezone.now() + timedelta(minutes=90)
    DoseSlot.objects.filter(pk=later.pk).update(
        local_date=timezone.localdate(), local_time=at.time().replace(second=59, microsecond=0), scheduled_at=at
    )  # the organization keeps UTC; :59 s is no other slot's time

    page = staff_client(organization, "nurse").get("/portal/").content.decode()

    due = DoseSlot.objects.filter(status="scheduled").order_by("scheduled_at").first()
    assert f"Next reminder: <b>{due.local_time:%H:%M}</b>" in page
    assert page.count("Send reminder now</button>") >= 1
    assert "appears 60 min before" in page  # the dose 3 hours away: why it has no button


def test_today_without_schedules_says_how_to_start(organization):
    Organization.objects.filter(pk=organization.pk).update(timezone="UTC")

    page = staff_client(organization, "nurse").get("/portal/").content.decode()

    assert "No reminder is due" in page


def test_every_patient_has_todays_settled_morning_dose_in_the_afternoon(organization):
    for i in range(3):
        PatientFactory(organization=organization, phone=f"+1202555011{i}")
    now = datetime(2026, 3, 10, 14, 17, tzinfo=UTC)  # the organization's zone is UTC

    demo_seed(organization=organization, now=now)

    morning = DoseSlot.objects.filter(local_date=now.date(), local_time="08:00")
    assert morning.count() == 3
    assert all(s.status in ("taken", "late", "missed") and s.reminder_id for s in morning)
    assert not DoseSlot.objects.filter(local_date=now.date(), local_time="20:00").exclude(status="scheduled")
