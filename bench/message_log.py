"""Message log benchmark: 1,000,000 messages in PostgreSQL; first page, filters and searches timed.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smsportal_bench .venv/bin/python bench/message_log.py

Options: --messages N (1000000) --runs R (9) --fresh (rebuild the data set) --explain (print the plans).
The data set (800,000 sent, 200,000 received, one organization, 20,000 numbers, two gateways,
a second organization with its own messages) is written with COPY once and reused by later runs.
Each case is the whole page request through Django (selectors, template, person lookup), timed as
the median of R warm runs; target (issue #16): <= 200 ms. With --explain each case's SQL plan is
printed, to show which index it walks.
"""

import argparse
import io
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsportal.settings")
os.environ.setdefault("SMSPORTAL_LOG_LEVEL", "WARNING")
os.environ["LOG_LEVEL"] = "WARNING"

SLUG = "bench-message-log"
NUMBERS = 20_000
TEXTS = [
    "Hi {n}, time for your Metformin 500 mg. Reply 1 when you have taken it.",
    "Reminder: your appointment at the clinic is tomorrow at 10:00.",
    "Clinic closed on Monday, call us for urgent refills.",
    "Your lab results are ready, please call the clinic.",
]
REPLIES = ["1", "Medication Taken", "STOP", "ok thanks", "When is the clinic open?"]
OUT_STATUSES = ["delivered"] * 90 + ["sent"] * 6 + ["failed"] * 2 + ["undelivered"] + ["queued"]


def number_of(n: int) -> str:
    """A valid US number (exchange 255, 355, …), so a search for a whole one is an exact match."""
    return f"+1202{2 + n // 10000}55{n % 10000:04d}"


def ensure_database():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        sys.exit("set DATABASE_URL=postgres://…: this benchmark measures PostgreSQL query plans")
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def copy_rows(cursor, table: str, columns: list[str], rows) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write("\t".join("\\N" if v is None else str(v) for v in row) + "\n")
    buffer.seek(0)
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        while chunk := buffer.read(1 << 20):
            copy.write(chunk)


def build(total: int, fresh: bool):
    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from entities.models import Organization, OrganizationUser, Patient
    from gateways.models import Gateway
    from messaging.models import InboundMessage, OutboundMessage
    from messaging.services.outbound_texts import text_digest

    org = Organization.objects.filter(slug=SLUG).first()
    if org is not None and not fresh:
        have = OutboundMessage.objects.filter(organization=org).count()
        have += InboundMessage.objects.filter(organization=org).count()
        if have == total:
            return org
    started = time.perf_counter()
    for old in Organization.objects.filter(slug__in=[SLUG, SLUG + "-other"]):
        with connection.cursor() as cursor:  # a cascade through the ORM would read a million rows
            cursor.execute("DELETE FROM messaging_inboundmessage WHERE organization_id = %s", [old.pk])
            cursor.execute("DELETE FROM messaging_outboundmessage WHERE organization_id = %s", [old.pk])
            cursor.execute("DELETE FROM messaging_outboundtext WHERE organization_id = %s", [old.pk])
        old.delete()
    org = Organization.objects.create(name="Bench Clinic", slug=SLUG, timezone="UTC", default_region="US")
    other = Organization.objects.create(name="Other Clinic", slug=SLUG + "-other", timezone="UTC")
    gateways = [Gateway.objects.create(organization=org, name=n, type="simulator") for n in ("Main", "Backup")]
    other_gateway = Gateway.objects.create(organization=other, name="Other", type="simulator")
    Patient.objects.bulk_create(
        [
            Patient(organization=org, first_name=f"First{n}", last_name=f"Last{n:05d}", phone=number_of(n))
            for n in range(0, NUMBERS, 10)
        ],  # fmt: skip
        batch_size=2000,
    )
    inbound_total = total // 5
    outbound_total = total - inbound_total
    end = datetime.now(UTC)
    span = timedelta(days=365)
    out_cols = ["id", "organization_id", "recipient", "sender", "subject", "body", "text_id", "encoding", "segments",
                "status", "gateway_id", "provider_message_id", "result_code", "error_reason", "provider_error_code",
                "attempts", "source", "idempotency_key", "possible_duplicate", "created_at", "updated_at", "sent_at",
                "delivered_at", "failed_at"]  # fmt: skip
    in_cols = ["id", "organization_id", "gateway_id", "gateway_label", "originator", "recipient", "text", "encoding",
               "received_at", "provider_message_id", "raw", "status", "failure_reason", "entity_type",
               "previous_published_message_id", "trace_id", "command", "processed_at", "arrived_unattributed",
               "created_at", "updated_at"]  # fmt: skip

    # Each distinct text once per organization, as the outbox's services store them (OutboundText).
    text_ids: dict[tuple, int] = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM messaging_outboundtext")
        next_text_id = cursor.fetchone()[0] + 1

    def text_of(organization, body: str) -> int:
        key = (organization.pk, body)
        if key not in text_ids:
            text_ids[key] = next_text_id + len(text_ids)
        return text_ids[key]

    def outbound(organization, gateway_ids, count, seed):
        for i in range(count):
            at = end - span * (1 - i / count)
            status = OUT_STATUSES[(i * 7 + seed) % len(OUT_STATUSES)]
            number = number_of((i * 7919 + seed) % NUMBERS)
            sent = at + timedelta(seconds=2) if status not in ("queued", "failed") else None
            body = TEXTS[i % len(TEXTS)].format(n=i)
            yield [uuid.uuid4(), organization.pk, number, "", "", body, text_of(organization, body), "GSM-7", 1,
                   status, gateway_ids[i % len(gateway_ids)], f"p-{seed}-{i}" if sent else None, "",
                   "number unreachable" if status == "failed" else "", "", 1, "schedule", "", "f", at, at, sent,
                   at + timedelta(seconds=9) if status == "delivered" else None,
                   at + timedelta(seconds=3) if status == "failed" else None]  # fmt: skip

    def inbound(organization, gateway_ids, count, seed):
        for i in range(count):
            at = end - span * (1 - i / count)
            number = number_of((i * 104729 + seed) % NUMBERS)
            yield [uuid.uuid4(), organization.pk, gateway_ids[i % len(gateway_ids)], "", number,
                   "", REPLIES[i % len(REPLIES)], "ENC7BIT", at, f"in-{seed}-{i}", "{}", "processed", "", "patient",
                   "", "", "", at, "f", at, at]  # fmt: skip

    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        ids = [g.pk for g in gateways]
        copy_rows(raw, "messaging_outboundmessage", out_cols, outbound(org, ids, outbound_total, 1))
        copy_rows(raw, "messaging_inboundmessage", in_cols, inbound(org, ids, inbound_total, 1))
        copy_rows(raw, "messaging_outboundmessage", out_cols, outbound(other, [other_gateway.pk], total // 10, 2))
        copy_rows(raw, "messaging_inboundmessage", in_cols, inbound(other, [other_gateway.pk], total // 40, 2))
        texts = ([pk, org_id, text_digest(body), body] for (org_id, body), pk in text_ids.items())
        copy_rows(raw, "messaging_outboundtext", ["id", "organization_id", "digest", "body"], texts)
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('messaging_outboundtext', 'id'), MAX(id)) FROM messaging_outboundtext"
        )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE messaging_outboundmessage")
        cursor.execute("VACUUM ANALYZE messaging_inboundmessage")
        cursor.execute("VACUUM ANALYZE messaging_outboundtext")
    user, _ = User.objects.get_or_create(username="bench-message-log")
    OrganizationUser.objects.update_or_create(user=user, defaults={"organization": org, "first_name": "Bench"})
    took = time.perf_counter() - started
    print(f"built {outbound_total:,} sent + {inbound_total:,} received messages in {took:.1f} s")
    return org


def explain(org, label: str, params: dict) -> None:
    from django.http import QueryDict

    from portal.selectors import message_log as log

    filters = log.LogFilters.from_params(QueryDict(mutable=True) | params)
    cursor = log.Cursor.decode(params["before"], "before") if params.get("before") else None
    people = None
    if filters.query and not log._is_number(filters.query):
        people = log._people_numbers(organization=org, query=filters.query)
    for name, qs, at in (
        ("sent", log.outbound_log(organization=org, filters=filters, people=people), "created_at"),
        ("received", log.inbound_log(organization=org, filters=filters, people=people), "received_at"),
    ):
        if qs is None:
            continue
        plan = log.keyset(qs, at=at, cursor=cursor, older=True, limit=50).explain(analyze=True)
        print(f"--- {label}: {name}\n{plan}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    ensure_database()

    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    call_command("migrate", verbosity=0)
    setup_test_environment()
    org = build(args.messages, args.fresh)
    client = Client()
    client.force_login(User.objects.get(username="bench-message-log"))
    gateway = org.gateways.order_by("name").last()
    cases = [  # (label, query parameters)
        ("first page (50 of both directions)", {}),
        ("live refresh fragment", {"fragment": "1"}),
        ("status: failed (2% of sent)", {"status": "failed"}),
        ("status: undelivered (1%)", {"status": "undelivered"}),
        ("status: unknown (none)", {"status": "unknown"}),
        ("direction: received", {"direction": "in"}),
        ("gateway: Main (half)", {"gateway": str(gateway.pk)}),
        (
            "one day, 200 days ago",
            {"from": str((datetime.now(UTC) - timedelta(days=200)).date())}
            | {"to": str((datetime.now(UTC) - timedelta(days=200)).date())},
        ),  # fmt: skip
        ("search: whole number", {"q": "+12023551234"}),
        ("search: national number", {"q": "(202) 355-1234"}),
        ("search: number prefix", {"q": "+1202355123"}),
        ("search: text, common (a quarter)", {"q": "lab results"}),
        ("search: text, rare (none)", {"q": "zebra crossing"}),
        ("search: person by name", {"q": "Last11230"}),
    ]
    first = client.get("/portal/messages/")
    older = first.context["older_url"]
    cases.append(("page 2 (keyset, no OFFSET)", dict(p.split("=", 1) for p in older.lstrip("?").split("&"))))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    print(f"database: {connection.vendor}; {args.messages:,} messages; median of {args.runs} warm runs")
    # "page": the whole request (SQL, Python, template); "SQL": the time its queries took in the database.
    print(f"{'case':40} {'page ms':>8} {'max ms':>7} {'SQL ms':>7} {'queries':>7} {'rows':>5}")
    worst = 0.0
    for label, params in cases:
        times, sql = [], []
        for _ in range(args.runs + 1):
            with CaptureQueriesContext(connection) as ctx:
                started = time.perf_counter()
                response = client.get("/portal/messages/", params)
                times.append((time.perf_counter() - started) * 1000)
            sql.append(sum(float(q["time"]) for q in ctx.captured_queries) * 1000)
            assert response.status_code == 200, (label, response.status_code)
        times, sql = times[1:], sql[1:]  # the first run warms the cache of this case's pages
        median = statistics.median(times)
        worst = max(worst, median)
        print(
            f"{label:40} {median:8.1f} {max(times):7.1f} {statistics.median(sql):7.1f} {len(ctx.captured_queries):7d} "
            f"{len(response.context['page'].rows):5d}"
        )
        if args.explain:
            explain(org, label, {k: v for k, v in params.items() if k != "fragment"})
    verdict = "OK" if worst <= 200 else "OVER TARGET"
    print(f"target: <= 200 ms per page (warm median); worst {worst:.1f} ms -> {verdict}")
    load = os.getloadavg()[0]
    print(f"load average during the run: {load:.1f} on {os.cpu_count()} CPUs (other work inflates the figures)")


if __name__ == "__main__":
    main()
