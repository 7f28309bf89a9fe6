"""Portal dashboard benchmark: 5,000 patients x 30 days of doses; prints render times and query counts.

    .venv/bin/python bench/dashboard.py                       # SQLite file in /tmp (embedded default)
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smsportal_bench .venv/bin/python bench/dashboard.py

Options: --patients N (5000) --days D (30) --runs R (20) --fresh (rebuild the data set).
The data set is built once (bulk inserts, ~2 doses a day per patient, a mix of on time / late /
missed) and reused by later runs. Target (issue #5): each page <= 300 ms, a constant number of queries;
the Follow up list (issue #14, one patient in ten on it) as well.
"""

import argparse
import os
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsportal.settings")
os.environ.setdefault("DATABASE_URL", "sqlite:////tmp/smsportal-bench-dashboard.sqlite3")
os.environ.setdefault("SMSPORTAL_LOG_LEVEL", "WARNING")
os.environ["LOG_LEVEL"] = "WARNING"

SLUG = "bench-dashboard"


def ensure_database():
    url = os.environ["DATABASE_URL"]
    if not url.startswith("postgres"):
        return
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def build(patients: int, days: int, fresh: bool):
    from django.db import transaction
    from django.utils import timezone

    from adherence.models import DoseConfirmation, DoseSlot, MedicationSchedule
    from entities.models import Organization, OrganizationUser, Patient

    org = Organization.objects.filter(slug=SLUG).first()
    if org is not None and not fresh and Patient.objects.filter(organization=org).count() == patients:
        return org
    if org is not None:
        org.delete()
    started = time.perf_counter()
    org = Organization.objects.create(name="Bench Clinic", slug=SLUG, timezone="UTC")
    today = timezone.now().date()
    with transaction.atomic():
        people = Patient.objects.bulk_create(
            [
                Patient(
                    organization=org,
                    first_name=f"First{n}",
                    last_name=f"Last{n:05d}",
                    phone=f"+1202{n // 10000 % 10}55{n % 10000:04d}",
                    national_id=f"B{n}",
                )
                for n in range(patients)
            ],  # fmt: skip
            batch_size=2000,
        )
        schedules = MedicationSchedule.objects.bulk_create(
            [
                MedicationSchedule(
                    organization=org,
                    patient=p,
                    medication="Metformin 500 mg",
                    dose_times=["08:00", "20:00"],
                    start_date=today - timedelta(days=days),
                    timezone="UTC",
                )
                for p in people
            ],  # fmt: skip
            batch_size=2000,
        )
    slot_rows, confirmations = 0, 0
    statuses = ["taken"] * 7 + ["late", "late", "missed"]
    now = timezone.now()
    for d in range(days, -1, -1):
        day = today - timedelta(days=d)
        batch = []
        for i, schedule in enumerate(schedules):
            for hour in (8, 20):
                at = datetime(day.year, day.month, day.day, hour, tzinfo=UTC)
                closes = at + timedelta(hours=1)
                if closes > now:
                    status = "reminded" if at <= now else "scheduled"
                else:
                    status = statuses[(i * 7 + d * 3 + hour) % len(statuses)]
                batch.append(
                    DoseSlot(organization=org, schedule=schedule, patient_id=schedule.patient_id, local_date=day,
                             local_time=f"{hour:02d}:00", scheduled_at=at, window_closes_at=closes, status=status,
                             reminded_at=at if status != "scheduled" else None)
                )  # fmt: skip
        with transaction.atomic():
            created = DoseSlot.objects.bulk_create(batch, batch_size=5000)
            rows = [
                DoseConfirmation(organization=org, slot=s, patient_id=s.patient_id, reply="1",
                                 received_at=s.scheduled_at + timedelta(minutes=10 if s.status == "taken" else 90),
                                 on_time=s.status == "taken")
                for s in created
                if s.status in ("taken", "late")
            ]  # fmt: skip
            DoseConfirmation.objects.bulk_create(rows, batch_size=5000)
        slot_rows += len(batch)
        confirmations += len(rows)
    from django.contrib.auth.models import User

    user, _ = User.objects.get_or_create(username="bench-dashboard")
    OrganizationUser.objects.update_or_create(user=user, defaults={"organization": org, "first_name": "Bench"})
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    print(
        f"built {patients} patients, {slot_rows} dose slots, {confirmations} confirmations "
        f"in {time.perf_counter() - started:.1f} s"
    )
    return org


def ensure_follow_ups(org) -> None:
    """One patient in ten on the Follow up list, as many closed in the past week (built once)."""
    from django.utils import timezone

    from adherence.models import FollowUp, FollowUpEvent
    from entities.models import Patient

    if FollowUp.objects.filter(organization=org).exists():
        return
    now = timezone.now()
    ids = list(Patient.objects.filter(organization=org).order_by("last_name").values_list("id", flat=True))
    items = []
    for n, patient_id in enumerate(ids[::10]):
        opened = now - timedelta(hours=n % 160)
        items.append(FollowUp(organization=org, patient_id=patient_id, reason="missed_doses", opened_at=opened,
                              detail={"missedDoses": 2, "medication": "Metformin 500 mg"}))  # fmt: skip
        items.append(FollowUp(organization=org, patient_id=patient_id, reason="silent", status="closed",
                              opened_at=opened - timedelta(days=1), closed_at=opened - timedelta(hours=n % 30),
                              outcome="reached", detail={"silentDays": 3}))  # fmt: skip
    FollowUp.objects.bulk_create(items, batch_size=2000)
    FollowUpEvent.objects.bulk_create(
        [
            FollowUpEvent(organization=org, follow_up=i, patient_id=i.patient_id, kind="opened", at=i.opened_at)
            for i in items
        ],  # fmt: skip
        batch_size=2000,
    )
    print(f"built {len(items)} follow-up items")


def measure(client, url: str, runs: int) -> tuple[list[float], int, int]:
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    cache.clear()  # the adherence page caches the aggregates of final days: time the cold request too
    started = time.perf_counter()
    client.get(url)
    cold = (time.perf_counter() - started) * 1000
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        content = b"".join(response.streaming_content) if response.streaming else response.content
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url)
    return times, len(ctx.captured_queries), len(content), cold


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=5000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    ensure_database()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    call_command("migrate", verbosity=0)
    setup_test_environment()  # ALLOWED_HOSTS testserver, template rendering signals
    org = build(args.patients, args.days, args.fresh)
    ensure_follow_ups(org)
    from adherence.models import FollowUp

    item = FollowUp.objects.filter(organization=org, status="open").order_by("opened_at").first()
    from django.contrib.auth.models import User

    client = Client()
    client.force_login(User.objects.get(username="bench-dashboard"))
    print(f"database: {connection.vendor}; {args.patients} patients x {args.days} days; {args.runs} runs each")
    print(f"{'page':44} {'cold ms':>7} {'median ms':>9} {'p95 ms':>7} {'max ms':>7} {'queries':>7} {'KiB':>5}")
    worst = 0.0
    pages = [  # (label, url, counts toward the 300 ms target: the 30-day dashboard)
        ("Today (first page of 50 doses)", "/portal/", True),
        ("Today, live refresh fragment", "/portal/?fragment=1", True),
        ("Today, filtered: missed", "/portal/?status=missed", True),
        ("Today, search", "/portal/?q=Last0004", True),
        ("Adherence, 30 days (chart, rates, patients)", "/portal/adherence/", True),
        ("Adherence, 90 days (extra)", "/portal/adherence/?days=90", False),
        ("Follow up (first page of 50 open, summary)", "/portal/follow-up/", True),
        ("Follow up, live refresh fragment", "/portal/follow-up/?fragment=1", True),
        ("Follow up, closed", "/portal/follow-up/?view=closed", True),
        ("Follow up, one item (doses, conversation)", f"/portal/follow-up/{item.pk}/", True),
    ]
    for label, url, counts in pages:
        times, queries, size, cold = measure(client, url, args.runs)
        times.sort()
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        if counts:
            worst = max(worst, statistics.median(times))
        print(
            f"{label:44} {cold:7.1f} {statistics.median(times):9.1f} {p95:7.1f} {times[-1]:7.1f} {queries:7d} "
            f"{size // 1024:5d}"
        )
    verdict = "OK" if worst <= 300 else "OVER TARGET"
    print(f"target: <= 300 ms per 30-day dashboard page (warm median); worst {worst:.1f} ms -> {verdict}")
    load = os.getloadavg()[0]
    print(f"load average during the run: {load:.1f} on {os.cpu_count()} CPUs (other work inflates the figures)")
    del org


if __name__ == "__main__":
    main()
