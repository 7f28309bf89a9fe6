"""The dashboard pages cost the same number of queries for 3 patients or 30 (no N+1)."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from adherence.models import DoseConfirmation, DoseSlot, MedicationSchedule
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def populate(organization, patients: int, days: int = 5):
    """Patients with one schedule each and a closed dose per day (taken, late or missed), plus today's."""
    today = timezone.now().date()
    statuses = ["taken", "late", "missed", "scheduled"]
    for n in range(patients):
        patient = PatientFactory(organization=organization)
        schedule = MedicationSchedule.objects.create(
            organization=organization, patient=patient, medication=f"Med {n}", dose_times=["08:00"],
            start_date=today - timedelta(days=days), timezone="UTC",
        )  # fmt: skip
        for d in range(days + 1):
            day = today - timedelta(days=d)
            at = timezone.now() - timedelta(days=d)
            status = statuses[(n + d) % 4] if d else "reminded"
            slot = DoseSlot.objects.create(
                organization=organization, schedule=schedule, patient=patient, local_date=day,
                local_time="08:00", scheduled_at=at, window_closes_at=at + timedelta(hours=1), status=status,
            )  # fmt: skip
            if status in ("taken", "late"):
                DoseConfirmation.objects.create(
                    organization=organization, slot=slot, patient=patient, reply="1", received_at=at,
                    on_time=status == "taken",
                )  # fmt: skip


def queries(client, url) -> int:
    cache.clear()  # measure the uncached path: the adherence page caches final days
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
        assert response.status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize(
    "url", ["/portal/", "/portal/?fragment=1", "/portal/adherence/", "/portal/?status=pending&q=First"]
)
def test_dashboard_query_count_does_not_grow_with_patients(staff, organization, url):
    populate(organization, 3)
    small = queries(staff, url)
    populate(organization, 27)
    large = queries(staff, url)

    assert small == large
    assert large <= 10  # one of them: the session's second-factor device (mfa)


def test_adherence_page_counts_cached_days_and_recent_days_together(staff, organization):
    populate(organization, 4, days=6)
    cache.clear()
    first = staff.get("/portal/adherence/").context
    cached = staff.get("/portal/adherence/").context

    closed = DoseSlot.objects.filter(organization=organization, status__in=["taken", "late", "missed"])
    assert closed.count() == 18  # 4 patients x 6 past days, a quarter of them still open
    for context in (first, cached):
        assert context["rates"]["total"] == 18 and context["rates"]["taken"] == closed.filter(status="taken").count()
        assert sum(r.total for r in context["page"]) == 18
    assert [b.total for b in first["bars"]] == [b.total for b in cached["bars"]]


def test_today_counts_match_the_rows(staff, organization):
    populate(organization, 8)

    page = staff.get("/portal/?fragment=1").content.decode()

    assert 'data-count="total">8<' in page and 'data-count="pending">8<' in page
