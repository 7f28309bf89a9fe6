"""`seed_demo` leaves the Follow up list with something on it: the last demo patient missed their
latest doses in a row, and the item says so, opened as the pipeline opens it."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from adherence.demo import demo_follow_up_seed, demo_seed
from adherence.follow_up import follow_up_close
from adherence.follow_up_models import FollowUp
from adherence.models import DoseSlot

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("hour", [3, 9, 14, 22])
def test_the_last_patient_is_on_the_follow_up_list_for_the_doses_they_missed(organization, people, hour):
    now = timezone.now().replace(hour=hour, minute=30)
    demo_seed(organization=organization, now=now)

    sam = people[-1]
    item = FollowUp.objects.get(patient=sam, status=FollowUp.Status.OPEN)
    assert item.reason == FollowUp.Reason.MISSED_DOSES
    settled = DoseSlot.objects.filter(patient=sam, window_closes_at__lte=now).order_by("-scheduled_at")
    latest = list(settled[: item.detail["missedDoses"]])
    assert {slot.status for slot in latest} == {DoseSlot.Status.MISSED}  # what the item claims is true
    assert item.detail["lastDoseAt"] == latest[0].scheduled_at.isoformat()
    assert latest[0].reminder is not None and not hasattr(latest[0], "confirmation")  # reminded, no reply


def test_seeding_again_opens_nothing_more_and_a_closed_item_stays_closed(organization, people):
    now = timezone.now()
    demo_seed(organization=organization, now=now)
    item = FollowUp.objects.get(patient=people[-1])

    demo_seed(organization=organization, now=now + timedelta(minutes=1))
    assert FollowUp.objects.filter(patient=people[-1]).count() == 1

    follow_up_close(item=item, note="Called; picked up a refill.")
    assert demo_follow_up_seed(organization=organization, now=now + timedelta(minutes=2)) is None
    assert not FollowUp.objects.filter(patient=people[-1], status=FollowUp.Status.OPEN).exists()


def test_make_runs_demo_puts_the_patient_the_readme_names_on_the_list():
    call_command("seed_demo")

    item = FollowUp.objects.get(status=FollowUp.Status.OPEN)
    assert item.patient.full_name == "Sam Okafor"  # README: "Sam Okafor missed his last two doses"
    assert item.detail["missedDoses"] == 2
