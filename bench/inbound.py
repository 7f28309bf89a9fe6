"""Inbound benchmark: Twilio-signed webhooks → PostgreSQL → Celery (Redis) → plugin calls on 127.0.0.1.

Prints
  1. inbound webhooks accepted per second (gunicorn sync ×4, no worker running: the accept path alone);
  2. replies/s from webhook to plugin call received, with a Celery worker of concurrency 2;
  3. p50/p99 latency webhook → plugin call at a steady 50 replies/s.
Targets (issue #4): ≥ 500 webhooks/s, ≥ 300 replies/s end to end, p99 ≤ 150 ms at 50/s. With wrk
installed, wrk posts the webhooks, and the issues' yardstick (bench/bare_drf.py) is printed last.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smsportal_bench \
    REDIS_URL=redis://127.0.0.1:6379/2 .venv/bin/python bench/inbound.py [--accept 3000 --e2e 2000 --steady 10]

The database named in DATABASE_URL is dropped and recreated; the Redis DB is flushed. Everything
talks to 127.0.0.1 only, and every load loop is bounded.
"""

import argparse
import http.client
import json
import multiprocessing as mp
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from cpu import cpu_snapshot, cpu_used
from webhook_load import AUTH_TOKEN, OUR_NUMBER, Arrivals, _receiver_main, blast, post, signed_request

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- setup ----------------------------------------------------------------------------------------


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def run(cmd: list[str], env: dict) -> None:
    subprocess.run(cmd, cwd=REPO, env=env, check=True, stdout=subprocess.DEVNULL)


def seed(n_patients: int, plugin_url: str) -> str:
    """Demo rows: an organization, n patients, a Twilio gateway (webhooks) and one plugin."""
    import django

    django.setup()
    from entities.models import Organization, Patient
    from gateways.models import Gateway
    from plugins.registrations import registration_create

    org = Organization.objects.create(name="Bench Org", slug="bench-org")
    Gateway.objects.create(organization=org, name="sim", type="simulator", is_default=True)
    twilio = Gateway.objects.create(
        organization=org,
        name="twilio",
        type="twilio",
        config={"accountSid": "AC1", "from": OUR_NUMBER},
        secrets={"authToken": AUTH_TOKEN},
    )
    Patient.objects.bulk_create(
        [Patient(organization=org, first_name=f"P{i}", phone=phone(i)) for i in range(n_patients)]
    )
    registration_create(
        organization=org,
        name="bench",
        url=plugin_url,
        entity_types=["patient"],
        actions=["_incomingSms"],
        timeout_seconds=10,
        max_attempts=3,
    )
    from django.db import connections

    connections.close_all()
    return str(twilio.id)


def phone(i: int) -> str:
    return f"+1202555{i % 10000:04d}"


def wait_http(port: int, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not answer {path}")


def wait_routed(env: dict, timeout: float) -> int:
    """Poll until no inbound message is waiting to be routed; returns how many still wait."""
    import psycopg

    deadline = time.monotonic() + timeout
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        while True:
            sql = "SELECT count(*) FROM messaging_inboundmessage WHERE status = 'received'"
            waiting = conn.execute(sql).fetchone()[0]
            if waiting == 0 or time.monotonic() > deadline:
                return waiting
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accept", type=int, default=3000, help="webhooks for the accept-rate figure")
    parser.add_argument("--e2e", type=int, default=2000, help="replies for the end-to-end figure")
    parser.add_argument("--steady", type=float, default=10.0, help="seconds at 50 replies/s for latency")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    args = parser.parse_args()

    web_port, plugin_port = free_port(), free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "smsportal.settings",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smsportal_inbound_bench"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/2"),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "SMSPORTAL_ALLOW_PRIVATE_URLS": "1",
        "SMSPORTAL_PUBLIC_BASE_URL": f"http://127.0.0.1:{web_port}",
    }
    env["CELERY_BROKER_URL"] = env["REDIS_URL"]
    os.environ.update(env)
    sys.path.insert(0, str(REPO))

    import redis

    recreate_database(env["DATABASE_URL"])
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    run([str(BIN / "python"), "manage.py", "migrate", "--noinput"], env)

    arrivals_q: mp.Queue = mp.Queue()
    ready = mp.Event()
    receiver = mp.Process(target=_receiver_main, args=(plugin_port, arrivals_q, ready), daemon=True)
    receiver.start()
    ready.wait(10)
    arrivals = Arrivals(arrivals_q)
    n_patients = 5000
    gateway_id = seed(n_patients, f"http://127.0.0.1:{plugin_port}/plugin")
    public = env["SMSPORTAL_PUBLIC_BASE_URL"]

    children: list[subprocess.Popen] = []

    def start(cmd):
        p = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        children.append(p)
        return p

    results: dict = {}
    try:
        start(
            [
                str(BIN / "gunicorn"),
                "smsportal.wsgi",
                "-w",
                str(args.gunicorn_workers),
                "-b",
                f"127.0.0.1:{web_port}",
                "--log-level",
                "warning",
                "--backlog",
                "1024",
            ]
        )
        wait_http(web_port, "/healthz")

        # 1. Accept rate: the web tier alone (no worker), from unknown senders so routing later is cheap.
        accept_requests = [
            signed_request(public, gateway_id, f"SMaccept{i}", f"+1303555{i % 10000:04d}", f"hi a{i}")
            for i in range(args.accept)
        ]
        web = children[0].pid
        before = cpu_snapshot({"web": web}, env["DATABASE_URL"])
        seconds, accepted = blast(web_port, accept_requests)
        used = cpu_used(before, cpu_snapshot({"web": web}, env["DATABASE_URL"]))
        accept_ms = {k: round(v * 1000 / max(1, accepted), 2) for k, v in used.items()}
        results["accept_cpu_ms_per_webhook"] = accept_ms
        results["webhooks_accepted_per_s"] = round(accepted / seconds, 1)
        results["webhooks_accepted"] = accepted
        print(f"inbound webhooks accepted: {accepted}/{args.accept} in {seconds:.2f}s = {accepted / seconds:.0f}/s")
        total = sum(accept_ms.values())
        print(
            f"  CPU per accepted webhook: {total:.1f} ms ({', '.join(f'{k} {v:.1f}' for k, v in accept_ms.items())})"
            f" → at most {2000 / total:.0f}/s on 2 idle cores"
        )

        worker = start(
            [
                str(BIN / "celery"),
                "-A",
                "smsportal",
                "worker",
                "-c",
                str(args.concurrency),
                "-P",
                "prefork",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "WARNING",
            ]
        )
        waiting = wait_routed(env, timeout=300)
        if waiting:
            print(f"warning: {waiting} accepted messages still not routed after 300 s")
        if worker.poll() is not None:
            raise RuntimeError("celery worker exited")

        # 2. End to end: every reply from a matched patient, as fast as accepted, until every plugin call arrived.
        tokens = [f"e{i}" for i in range(args.e2e)]
        e2e_requests = [
            signed_request(public, gateway_id, f"SMe2e{i}", phone(i % n_patients), f"1 {tok}")
            for i, tok in enumerate(tokens)
        ]
        roots = {"web": web, "worker": worker.pid}
        before = cpu_snapshot(roots, env["DATABASE_URL"])
        started = time.time()
        post_seconds, accepted = blast(web_port, e2e_requests)
        complete = arrivals.wait_for(set(tokens), timeout=600)
        used = cpu_used(before, cpu_snapshot(roots, env["DATABASE_URL"]))
        last = max(arrivals.times[t] for t in tokens if t in arrivals.times)
        received = sum(1 for t in tokens if t in arrivals.times)
        e2e_rate = received / (last - started)
        results.update(replies_end_to_end_per_s=round(e2e_rate, 1), e2e_received=received, e2e_complete=complete)
        print(
            f"replies webhook → plugin call: {received}/{args.e2e} in {last - started:.2f}s = {e2e_rate:.0f}/s "
            f"(posting took {post_seconds:.2f}s)"
        )
        reply_ms = {k: round(v * 1000 / max(1, received), 2) for k, v in used.items()}
        results["e2e_cpu_ms_per_reply"] = reply_ms
        total = sum(reply_ms.values())
        print(
            f"  CPU per reply: {total:.1f} ms ({', '.join(f'{k} {v:.1f}' for k, v in reply_ms.items())})"
            f" → at most {2000 / total:.0f}/s on 2 idle cores (plugin receiver and load generator excluded)"
        )

        # 3. Latency at a steady rate: one reply every 1/rate s, each timed from its POST to its plugin call.
        count = int(args.steady * args.rate)
        sent_at: dict[str, float] = {}
        steady = [
            (f"s{i}", signed_request(public, gateway_id, f"SMsteady{i}", phone(i % n_patients), f"1 s{i}"))
            for i in range(count)
        ]
        pool = ThreadPoolExecutor(16)
        before = cpu_snapshot(roots, env["DATABASE_URL"])
        t0 = time.perf_counter()
        wall0 = time.time()
        futures = []
        for i, (tok, request) in enumerate(steady):
            delay = t0 + i / args.rate - time.perf_counter()
            if delay > 0:
                threading.Event().wait(delay)  # pacing the load, not synchronising a test
            sent_at[tok] = time.time()
            futures.append(pool.submit(post, web_port, request))
        for f in futures:
            f.result(timeout=60)
        pool.shutdown()
        arrivals.wait_for(set(sent_at), timeout=120)
        used = cpu_used(before, cpu_snapshot(roots, env["DATABASE_URL"]))
        latencies = sorted((arrivals.times[t] - sent_at[t]) * 1000 for t in sent_at if t in arrivals.times)
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        achieved = len(sent_at) / (time.time() - wall0)
        results.update(
            steady_rate=args.rate, steady_count=count, latency_p50_ms=round(p50, 1), latency_p99_ms=round(p99, 1)
        )
        print(
            f"latency webhook → plugin call at {args.rate:.0f}/s ({len(latencies)}/{count} calls, offered "
            f"{achieved:.0f}/s): p50 {p50:.0f} ms, p99 {p99:.0f} ms"
        )
        steady_ms = {k: round(v * 1000 / max(1, len(latencies)), 2) for k, v in used.items()}
        results["steady_cpu_ms_per_reply"] = steady_ms
        print(
            f"  CPU per reply at {args.rate:.0f}/s: {sum(steady_ms.values()):.1f} ms "
            f"({', '.join(f'{k} {v:.1f}' for k, v in steady_ms.items())}); load average "
            f"{os.getloadavg()[0]:.1f}"
        )
    finally:
        for p in children:
            p.send_signal(signal.SIGTERM)
        for p in children:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        receiver.terminate()
    if shutil.which("wrk"):
        # How fast is this machine? The issues' yardstick (bench/bare_drf.py): about 1,250 req/s.
        from bare_drf import measure

        results["bare_drf_insert_per_s"] = round(measure())
        print(f"bare DRF endpoint inserting one row: {results['bare_drf_insert_per_s']:,} req/s on this machine")
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "inbound.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
