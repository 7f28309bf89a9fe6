"""What the message log's text search index for sent messages costs the outbox, in one process,
without HTTP or Celery: the noise of a loaded machine stays out of the figure.

Each round queues `--recipients` recipients in one `messages_queue` call (the bulk accept's
service: validation, opt-out check, COPY), moves them through two status changes as delivery does
(queued → sending → sent), and makes `--single` one-recipient calls (a single send's service),
reading the CPU this process and its PostgreSQL backend used (/proc). Rounds go A B C C B A … over
three places for the trigram index (bench/outbound.py TRIGRAM_STATES): the texts table, each
distinct text once (as migrated); every outbox row (migration 0008 before 0013); nowhere. Dispatch
is not requested; the table grows by the same rows in every state.

    .venv/bin/python bench/trigram_cost.py [--rounds 6 --recipients 10000 --single 500]

Needs PostgreSQL on 127.0.0.1:5432; its database (BENCH_DB_NAME, default
smsportal_bench_trigram) is dropped and recreated.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from unittest import mock

REPO = Path(__file__).resolve().parents[1]
DB_NAME = os.environ.get("BENCH_DB_NAME", "smsportal_bench_trigram")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=500)
    args = parser.parse_args()
    os.environ.update(
        DJANGO_SETTINGS_MODULE="smsportal.settings",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB_NAME}",
        DEBUG="0",
        LOG_LEVEL="WARNING",
    )
    for sql in (f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)", f"CREATE DATABASE {DB_NAME}"):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True, capture_output=True)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO, check=True)
    sys.path.insert(0, str(REPO))
    sys.path.insert(0, str(REPO / "bench"))
    import django

    django.setup()
    from django.db import connection
    from loadgen import _cpu
    from outbound import TRIGRAM_STATES, trigram_indexes

    from entities.services import organization_get_or_create
    from gateways.models import Gateway
    from messaging.models import OutboundMessage
    from messaging.services.outbound import messages_queue

    org = organization_get_or_create(slug="bench", name="Bench Clinic")
    Gateway.objects.create(organization=org, name="sim", type="simulator", is_default=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        backend = cursor.fetchone()[0]
    body = "Clinic reminder: your appointment is tomorrow at 9:00."

    def cpu() -> float:
        return time.process_time() + _cpu(backend)

    recipients = [f"+1202555{i:04d}" for i in range(args.recipients)]

    def bulk() -> tuple[float, object]:
        started = cpu()
        batch = messages_queue(organization=org, recipients=recipients, body=body, source="portal").batch_id
        return (cpu() - started) * 1000 / args.recipients, batch

    def statuses(batch) -> float:
        """Two status changes of the bulk's rows, as the delivery run makes them (not HOT updates:
        status is indexed, so every index of the table gets each new row version)."""
        rows = OutboundMessage.objects.filter(batch_id=batch)
        started = cpu()
        rows.update(status=OutboundMessage.Status.SENDING)
        rows.update(status=OutboundMessage.Status.SENT)
        return (cpu() - started) * 1000 / args.recipients

    def single() -> float:
        started = cpu()
        for i in range(args.single):
            messages_queue(organization=org, recipients=[f"+1202556{i:04d}"], body=body, source="portal")
        return (cpu() - started) * 1000 / args.single

    results: dict[str, list[tuple[float, float, float]]] = {state: [] for state in TRIGRAM_STATES}
    order = list(TRIGRAM_STATES) + list(reversed(TRIGRAM_STATES))
    with mock.patch("messaging.services.outbound.dispatch_request"):  # no broker: rows stay queued
        statuses(bulk()[1])  # warm: imports, caches, prepared statements
        single()
        for run in range(args.rounds):
            state = order[run % len(order)]
            trigram_indexes(state)
            b, batch = bulk()
            u = statuses(batch)
            s = single()
            results[state].append((b, u, s))
            print(
                f"round {run + 1}, index on {state}: bulk {b * 1000:.1f} µs per recipient, two status changes "
                f"{u * 1000:.1f} µs per message, single {s:.2f} ms"
            )
    trigram_indexes("texts table")
    base = [statistics.median(column) for column in zip(*results["none"], strict=True)]
    for state, rows in results.items():
        b, u, s = (statistics.median(column) for column in zip(*rows, strict=True))
        print(
            f"index on {state}: bulk {b * 1000:.1f} µs CPU per recipient ({b / base[0] - 1:+.1%}), status "
            f"changes {u * 1000:.1f} µs per message ({u / base[1] - 1:+.1%}), single send {s:.2f} ms "
            f"({s / base[2] - 1:+.1%}) — medians of {len(rows)}, this process + its PostgreSQL backend"
        )


if __name__ == "__main__":
    main()
