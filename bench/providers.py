"""Benchmark: outbound throughput through real provider wire formats (PostgreSQL + Redis + 2 workers).

    .venv/bin/python bench/providers.py [--mode bulksms|twilio|ratelimit|kannel|android|all] [--messages N]

Defaults: its own database `smsportal_bench_providers` (created if missing) and Redis DB 9 (stale queue
and smsportal keys deleted first); override with DATABASE_URL / REDIS_URL. `bench/outbound.py --providers` runs it too.

What it does, per mode:
1. starts the provider simulator (`manage.py provider_simulator --no-record`) in its own process,
   or for `kannel` a real Kannel (bearerbox + smsbox, fakesmsc as the SMSC: gateways/simulator/kannel_box.py);
2. creates an organization and a gateway pointed at it (BulkSMS batches 200 per request, Twilio,
   Kannel and SMS Gateway for Android send one message per request; `ratelimit` is BulkSMS with
   rate_limit_per_second=50);
3. queues N messages while no worker runs, then starts one Celery worker with 2 processes;
4. waits (bounded) until every message is `sent`, and reports messages/s measured between the
   first and the last `sent_at`, so worker start-up is not counted.
Targets (issue #3): batched ≥ 2,000 msg/s, one-per-request ≥ 500 msg/s, rate limit 50/s within 5%.
Loopback only; every loop is bounded. Figures are printed, not asserted.
"""

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from loadgen import cpu_of_tree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable


def _env() -> dict:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smsportal_bench_providers")
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/9")
    env.setdefault("CELERY_BROKER_URL", env["REDIS_URL"])
    env["CELERY_TASK_ALWAYS_EAGER"] = "0"
    env["SMSPORTAL_ALLOW_PRIVATE_URLS"] = "1"  # the simulator is on loopback
    # Callback URLs the providers are given (Kannel's dlr-url) lead nowhere: nothing listens on port 9.
    env["SMSPORTAL_PUBLIC_BASE_URL"] = "http://127.0.0.1:9"
    env.setdefault("LOG_LEVEL", "WARNING")
    env["DJANGO_SETTINGS_MODULE"] = "smsportal.settings"
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, deadline: float = 15.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"port {port} did not open")


def _database_create(url: str) -> None:
    """Create the bench database when it does not exist yet (PostgreSQL only)."""
    if not url.startswith("postgres"):
        return
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def _setup_django(env: dict) -> None:
    _database_create(env["DATABASE_URL"])
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def _gateway(mode: str, sim_url: str):
    from entities.models import Organization
    from gateways.models import Gateway

    organization = Organization.objects.create(name=f"bench {mode}", slug=f"bench-{mode}-{uuid.uuid4().hex[:8]}")
    if mode in ("kannel", "android"):
        config = (
            {"urlTemplate": sim_url, "username": "smsportal", "from": "+12025550100"}
            if mode == "kannel"
            else {"mode": "private", "urlTemplate": sim_url, "username": "bench"}
        )
        secrets = {"password": "kannel-secret"} if mode == "kannel" else {"password": "p", "signingKey": "k"}
        gateway = Gateway.objects.create(
            organization=organization,
            name=f"bench {mode}",
            type=mode,
            config=config,
            secrets={**secrets, "webhookTokens": ["t"]},
            is_default=True,
        )
    elif mode == "twilio":
        gateway = Gateway.objects.create(
            organization=organization,
            name="bench twilio",
            type="twilio",
            config={"urlTemplate": sim_url, "accountSid": "AC" + "b" * 32, "from": "+12025550100"},
            secrets={"authToken": "bench-token", "webhookTokens": ["t"]},
            is_default=True,
        )
    else:
        gateway = Gateway.objects.create(
            organization=organization,
            name=f"bench {mode}",
            type="bulksms",
            config={"urlTemplate": f"{sim_url}/v1/messages", "username": "bench"},
            secrets={"password": "bench", "webhookTokens": ["t"]},
            is_default=True,
            rate_limit_per_second=50 if mode == "ratelimit" else None,
        )
    return organization, gateway


def _queue(organization, gateway, count: int) -> list:
    from messaging.services.outbound import messages_queue

    batch_ids = []
    # 202-555-xxxx numbers, 1,000 recipients per accepted request (like a DHIS2 bulk send).
    numbers = [f"+1202555{n:04d}" for n in range(10000)]
    done = 0
    while done < count:
        size = min(1000, count - done)
        recipients = [numbers[(done + i) % 10000] for i in range(size)]
        # Repeated numbers in one request collapse (a set), so keep each request's numbers distinct.
        result = messages_queue(
            organization=organization,
            recipients=recipients,
            body="Time for your dose",
            source="system",
            gateway=gateway,
        )
        batch_ids.append(result.messages[0].batch_id)
        done += size
    return batch_ids


def run(mode: str, count: int, env: dict) -> dict:
    from django.db.models import Max, Min

    from messaging.models import OutboundMessage

    port = _free_port()
    box = sim = None
    if mode == "kannel":
        from gateways.simulator.kannel_box import KannelBox

        box = KannelBox(log_level=2).start()  # warnings only: Kannel's per-message log lines cost disk I/O
        box.phone()
        stand_in_url = box.sendsms_url
    else:
        sim = subprocess.Popen(
            [PYTHON, "manage.py", "provider_simulator", "--port", str(port)]
            + ([] if mode == "ratelimit" else ["--no-record"]),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        stand_in_url = f"http://127.0.0.1:{port}"

    def stand_in_cpu() -> float:
        return sum(cpu_of_tree(pid) for pid in box.pids()) if box else cpu_of_tree(sim.pid)

    worker = None
    try:
        if sim is not None:
            _wait_port(port)
        organization, gateway = _gateway(mode, stand_in_url)
        t0 = time.monotonic()
        _queue(organization, gateway, count)
        queue_seconds = time.monotonic() - t0
        worker = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "smsportal",
                "worker",
                "--concurrency=2",
                "--pool=prefork",
                "--loglevel=WARNING",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"bench-{uuid.uuid4().hex[:6]}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        rows = OutboundMessage.objects.filter(organization=organization)
        sim_cpu0 = stand_in_cpu()
        deadline = time.monotonic() + max(120.0, count / 20.0)
        worker_cpu0, sent0 = None, 0
        while time.monotonic() < deadline:
            pending = rows.exclude(status__in=["sent", "failed", "unknown"]).count()
            if pending == 0:
                break
            if worker_cpu0 is None and pending < count:
                # Sending has begun: worker start-up CPU stays out of the per-message figure.
                worker_cpu0, sent0 = cpu_of_tree(worker.pid), count - pending
            time.sleep(0.1)
        worker_cpu = cpu_of_tree(worker.pid) - (worker_cpu0 or 0.0)
        sim_cpu = stand_in_cpu() - sim_cpu0
        stats = rows.filter(status="sent").aggregate(first=Min("sent_at"), last=Max("sent_at"))
        sent = rows.filter(status="sent").count()
        other = dict(
            rows.exclude(status="sent").values_list("status").annotate(n=Max("id")).values_list("status", "id")
        )
        span = (stats["last"] - stats["first"]).total_seconds() if sent > 1 else 0.0
        rate = (sent - 1) / span if span > 0 else float("nan")
        if mode == "ratelimit":
            # The limit is about what reaches the provider: measure arrivals at the simulator.
            import json
            import urllib.request

            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_sim/requests", timeout=30) as response:
                arrivals = sorted((r["at"], len(json.loads(r["body"]))) for r in json.load(response)["requests"])
            span = arrivals[-1][0] - arrivals[0][0]
            # The first request's messages open the window; the rest arrive over `span` seconds.
            rate = (sum(n for _, n in arrivals) - arrivals[0][1]) / span if span > 0 else float("nan")
        return {
            "mode": mode,
            "messages": count,
            "sent": sent,
            "not_sent_statuses": sorted(other),
            "seconds": round(span, 2),
            "msg_per_s": round(rate, 1),
            "queue_seconds": round(queue_seconds, 2),
            "worker_cpu_ms_per_msg": round(worker_cpu * 1000 / max(sent - sent0, 1), 3),
            "simulator_cpu_ms_per_msg": round(sim_cpu * 1000 / max(sent, 1), 3),
        }
    finally:
        if box is not None:
            box.stop()
        for proc in (worker, sim):
            if proc is not None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--mode", choices=["bulksms", "twilio", "ratelimit", "kannel", "android", "all"], default=["all"], nargs="+"
    )
    parser.add_argument(
        "--messages",
        type=int,
        default=None,
        help="default: 20000 batched, 10000 twilio, 1000 ratelimit, 5000 kannel and android",
    )
    args = parser.parse_args()
    env = _env()
    _setup_django(env)
    from smsportal.redis import get_redis

    client = get_redis()  # stale tasks of an earlier run would skew it; delete only what it uses
    for pattern in ("celery", "_kombu*", "unacked*", "smsportal:*"):
        for key in client.scan_iter(match=pattern, count=1000):
            client.delete(key)
    defaults = {"bulksms": 20000, "twilio": 10000, "ratelimit": 1000, "kannel": 5000, "android": 5000}
    modes = list(defaults) if "all" in args.mode else args.mode
    from gateways.simulator.kannel_box import binaries

    if "kannel" in modes and binaries() is None:
        print("kannel     skipped: bearerbox, smsbox or fakesmsc not installed (Debian: kannel, kannel-extras)")
        modes.remove("kannel")
    targets = {
        "bulksms": ">= 2000 msg/s",
        "twilio": ">= 500 msg/s",
        "ratelimit": "50 msg/s ± 5% (47.5-52.5)",
        "kannel": "one per request, like twilio",
        "android": "one per request, like twilio",
    }
    for mode in modes:
        result = run(mode, args.messages or defaults[mode], env)
        print(
            f"{mode:10s} {result['msg_per_s']:>9} msg/s  ({result['sent']}/{result['messages']} sent in "
            f"{result['seconds']} s; queued in {result['queue_seconds']} s; target {targets[mode]})"
            + (f"  other statuses: {result['not_sent_statuses']}" if result["not_sent_statuses"] else "")
        )
        print(
            f"{'':10s} CPU per message: workers {result['worker_cpu_ms_per_msg']} ms, "
            f"{'Kannel boxes' if mode == 'kannel' else 'simulator'} {result['simulator_cpu_ms_per_msg']} ms; "
            f"load average {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
