"""Inbound benchmark: Twilio-signed webhooks → PostgreSQL → Celery (Redis) → plugin calls on 127.0.0.1,
with the framework peer (RapidSMS 2.2.0, bench/peer_rapidsms.py) measured in the same run.

Prints
  1. inbound webhooks accepted per second (gunicorn sync ×4, no worker running: the accept path alone);
  2. replies/s from webhook to plugin call received, with a Celery worker of concurrency 2 and the
     routing process (`manage.py route_replies`; `--no-router`: routing by Celery tasks), and the
     peer's replies/s (its HTTP backend, router, messagelog and a reply over HTTP), measured
     alternately (`--rounds`), with the ratio and the CPU per reply of each;
  3. p50/p99 latency webhook → plugin call at a steady 50 replies/s, and its CPU per reply;
  4. the issues' yardstick (bench/bare_drf.py), measured right after 1., and the accept rate and CPU
     per request as ratios of it.
Targets (issue #15): replies ≥ 2× the peer, p99 ≤ 50 ms at 50/s with CPU per reply there within 2× of
full speed, webhooks accepted ≥ 0.8× the bare endpoint. On a shared machine compare CPU per item first;
the rates are only comparable because the two servers are measured alternately in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smsportal_bench \
    REDIS_URL=redis://127.0.0.1:6379/2 .venv/bin/python bench/inbound.py [--accept 3000 --e2e 2000 --steady 10] \
    [--no-router]

The database named in DATABASE_URL is dropped and recreated; the Redis DB is flushed. Everything
talks to 127.0.0.1 only, and every load loop is bounded.
"""

import argparse
import json
import multiprocessing as mp
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from loadgen import BackendCpu, _send, cpu_of_tree, free_port, post_all, wait_http
from webhook_load import AUTH_TOKEN, OUR_NUMBER, Arrivals, _receiver_main, signed_request

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ACCEPT_WARM_UP = 400  # webhooks posted before the accept rate is timed


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
    from django.db import connection, connections

    # Statistics as autovacuum leaves them a minute after an import: without them the planner
    # takes the 5,000 fresh patients for a handful and filters them all on each people lookup.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    connections.close_all()
    return str(twilio.id)


def phone(i: int) -> str:
    return f"+1202555{i % 10000:04d}"


# -- load -----------------------------------------------------------------------------------------


class Cpu:
    """CPU of the named process trees and of the bench database's PostgreSQL backends over a span:
    `begin()`, then `per_item(span, items)` in ms per item."""

    def __init__(self, roots: dict[str, int], database: str):
        self.roots, self.database = roots, database

    def begin(self) -> tuple[dict[str, float], BackendCpu]:
        return {name: cpu_of_tree(pid) for name, pid in self.roots.items()}, BackendCpu(self.database).start()

    def per_item(self, span: tuple[dict[str, float], BackendCpu], items: int) -> dict[str, float]:
        trees, backends = span
        used = {name: cpu_of_tree(pid) - trees[name] for name, pid in self.roots.items()}
        used["postgres"] = backends.stop()
        return {k: round(v * 1000 / max(1, items), 2) for k, v in used.items()}


def _fmt(ms: dict[str, float]) -> str:
    return f"{sum(ms.values()):.1f} ms ({', '.join(f'{k} {v:.1f}' for k, v in ms.items())})"


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
    parser.add_argument("--e2e", type=int, default=2000, help="replies for the end-to-end figure (each round)")
    parser.add_argument("--peer", type=int, default=2000, help="messages to the peer (each round); 0: no peer")
    parser.add_argument("--rounds", type=int, default=1, help="peer / smsportal end-to-end rounds, alternating")
    parser.add_argument("--steady", type=float, default=10.0, help="seconds at 50 replies/s for latency")
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=2, help="Celery worker processes")
    parser.add_argument(
        "--router",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run the routing process (manage.py route_replies) beside the worker, as production does",
    )
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
    database = urlsplit(env["DATABASE_URL"]).path.lstrip("/")

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

    results: dict = {"load_average_start": round(os.getloadavg()[0], 1)}
    try:
        web = start(
            [str(BIN / "gunicorn"), "smsportal.wsgi", "-w", str(args.gunicorn_workers), "-b", f"127.0.0.1:{web_port}",
             "--log-level", "warning", "--backlog", "1024"]
        ).pid  # fmt: skip
        wait_http(web_port, "/healthz")

        # 1. Accept rate: the web tier alone (no worker), from unknown senders so routing later is cheap.
        accept_requests = [
            signed_request(public, gateway_id, f"SMaccept{i}", f"+1303555{i % 10000:04d}", f"hi a{i}")
            for i in range(args.accept + ACCEPT_WARM_UP)
        ]
        # Every gunicorn worker warmed first, uncounted, as the bare endpoint's are (bench/bare_drf.py):
        # a worker's first requests import and build what later ones reuse.
        post_all(web_port, accept_requests[:ACCEPT_WARM_UP])
        accept_requests = accept_requests[ACCEPT_WARM_UP:]
        cpu = Cpu({"web": web}, database)
        span = cpu.begin()
        seconds, accepted = post_all(web_port, accept_requests)
        accept_ms = cpu.per_item(span, accepted)
        results.update(
            webhooks_accepted_per_s=round(accepted / seconds, 1),
            webhooks_accepted=accepted,
            accept_cpu_ms_per_webhook=accept_ms,
        )
        print(f"inbound webhooks accepted: {accepted}/{args.accept} in {seconds:.2f}s = {accepted / seconds:.0f}/s")
        print(
            f"  CPU per accepted webhook: {_fmt(accept_ms)} → at most "
            f"{2000 / sum(accept_ms.values()):.0f}/s on 2 idle cores"
        )
        # The issues' yardstick (bench/bare_drf.py) right after, so that both see the same machine.
        from bare_drf import measure_with_cpu

        bare, bare_ms = measure_with_cpu()
        results.update(bare_drf_insert_per_s=round(bare), bare_drf_cpu_ms=round(bare_ms, 2))
        results["accept_vs_bare"] = round(results["webhooks_accepted_per_s"] / bare, 2)
        results["accept_vs_bare_cpu"] = round(bare_ms / sum(accept_ms.values()), 2)
        print(f"bare DRF endpoint inserting one row: {bare:,.0f} req/s, {bare_ms:.1f} ms CPU per request")
        print(
            f"  webhooks accepted: {results['accept_vs_bare']:.2f}× the bare endpoint's rate, "
            f"{results['accept_vs_bare_cpu']:.2f}× its CPU efficiency"
        )

        worker = start(
            [str(BIN / "celery"), "-A", "smsportal", "worker", "-c", str(args.concurrency), "-P", "prefork",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"]
        )  # fmt: skip
        roots = {"web": web, "worker": worker.pid}
        if args.router:
            roots["router"] = start([str(BIN / "python"), "manage.py", "route_replies"]).pid
        waiting = wait_routed(env, timeout=300)
        if waiting:
            print(f"warning: {waiting} accepted messages still not routed after 300 s")
        if worker.poll() is not None:
            raise RuntimeError("celery worker exited")
        cpu = Cpu(roots, database)

        # 2. End to end, alternating with the peer: every reply from a matched patient, as fast as
        # accepted, until every plugin call arrived.
        rounds = []
        for round_no in range(args.rounds):
            peer = None
            if args.peer:
                from peer_rapidsms import measure as peer_measure

                peer = peer_measure(args.peer)
                print(
                    f"[round {round_no + 1}] RapidSMS 2.2.0 inbound → reply over HTTP: {peer['peer_replies_per_s']:.0f}"
                    f" replies/s, {peer['peer_cpu_ms_per_reply']:.1f} ms CPU per message (web + PostgreSQL)"
                )
            tokens = [f"e{round_no}-{i}" for i in range(args.e2e)]
            e2e_requests = [
                signed_request(public, gateway_id, f"SMe2e{round_no}-{i}", phone(i % n_patients), f"1 {tok}")
                for i, tok in enumerate(tokens)
            ]
            span = cpu.begin()
            started = time.time()
            post_seconds, accepted = post_all(web_port, e2e_requests)
            complete = arrivals.wait_for(set(tokens), timeout=600)
            reply_ms = cpu.per_item(span, args.e2e)
            received = sum(1 for t in tokens if t in arrivals.times)
            last = max(arrivals.times[t] for t in tokens if t in arrivals.times)
            rate = received / (last - started)
            ours = {"replies_per_s": round(rate, 1), "received": received, "complete": complete, "cpu_ms": reply_ms}
            print(
                f"[round {round_no + 1}] smsportal webhook → plugin call: {received}/{args.e2e} in "
                f"{last - started:.2f}s = {rate:.0f}/s (posting took {post_seconds:.2f}s)"
            )
            print(f"  CPU per reply: {_fmt(reply_ms)} (plugin stand-in and load generator excluded)")
            if peer:
                ours["peer"] = peer
                ours["ratio_rate"] = round(rate / peer["peer_replies_per_s"], 2)
                ours["ratio_cpu"] = round(peer["peer_cpu_ms_per_reply"] / sum(reply_ms.values()), 2)
                print(
                    f"  vs RapidSMS: {ours['ratio_rate']:.2f}× the replies/s, {ours['ratio_cpu']:.2f}× less CPU "
                    "per reply"
                )
            rounds.append(ours)
        results["e2e_rounds"] = rounds
        results["replies_end_to_end_per_s"] = statistics.median(r["replies_per_s"] for r in rounds)
        e2e_cpu = statistics.median(sum(r["cpu_ms"].values()) for r in rounds)
        results["e2e_cpu_ms_per_reply"] = round(e2e_cpu, 2)
        if args.peer:
            results["ratio_rate_vs_peer"] = statistics.median(r["ratio_rate"] for r in rounds)
            results["ratio_cpu_vs_peer"] = statistics.median(r["ratio_cpu"] for r in rounds)

        # 3a. The stack idle for as long as the steady phase: what CPU per reply at a low rate carries
        # that is not the replies' (pollers, heartbeats, the CPU readers' own queries).
        span = cpu.begin()
        threading.Event().wait(args.steady)  # measuring idle time, not synchronising
        idle_ms = cpu.per_item(span, int(args.steady * args.rate))
        results["idle_cpu_ms_per_reply_slot"] = idle_ms
        print(f"idle stack over {args.steady:.0f} s, per reply slot at {args.rate:.0f}/s: {_fmt(idle_ms)}")

        # 3. Latency at a steady rate: one reply every 1/rate s, each timed from its POST to its plugin call.
        count = int(args.steady * args.rate)
        sent_at: dict[str, float] = {}
        steady = [
            (f"s{i}", signed_request(public, gateway_id, f"SMsteady{i}", phone(i % n_patients), f"1 s{i}"))
            for i in range(count)
        ]
        pool = ThreadPoolExecutor(16)
        span = cpu.begin()
        t0 = time.perf_counter()
        wall0 = time.time()
        futures = []
        for i, (tok, request) in enumerate(steady):
            delay = t0 + i / args.rate - time.perf_counter()
            if delay > 0:
                threading.Event().wait(delay)  # pacing the load, not synchronising a test
            sent_at[tok] = time.time()
            futures.append(pool.submit(_send, web_port, request))
        for f in futures:
            f.result(timeout=60)
        pool.shutdown()
        arrivals.wait_for(set(sent_at), timeout=120)
        steady_ms = cpu.per_item(span, count)
        latencies = sorted((arrivals.times[t] - sent_at[t]) * 1000 for t in sent_at if t in arrivals.times)
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
        achieved = len(sent_at) / (time.time() - wall0)
        results.update(
            steady_rate=args.rate,
            steady_count=count,
            latency_p50_ms=round(p50, 1),
            latency_p99_ms=round(p99, 1),
            steady_cpu_ms_per_reply=steady_ms,
            steady_cpu_vs_full_speed=round(sum(steady_ms.values()) / e2e_cpu, 2),
        )
        print(
            f"latency webhook → plugin call at {args.rate:.0f}/s ({len(latencies)}/{count} calls, offered "
            f"{achieved:.0f}/s): p50 {p50:.0f} ms, p99 {p99:.0f} ms"
        )
        print(
            f"  CPU per reply at {args.rate:.0f}/s: {_fmt(steady_ms)} = {results['steady_cpu_vs_full_speed']:.2f}× "
            f"full speed; load average {os.getloadavg()[0]:.1f}"
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
    if args.peer:
        print(
            f"summary: replies {results['ratio_rate_vs_peer']:.2f}× RapidSMS's rate, "
            f"{results['ratio_cpu_vs_peer']:.2f}× less CPU per reply (median of {args.rounds} round(s)); "
            f"p99 {results['latency_p99_ms']:.0f} ms at {args.rate:.0f}/s; webhooks {results['accept_vs_bare']:.2f}× "
            "the bare endpoint"
        )
    results["load_average_end"] = round(os.getloadavg()[0], 1)
    out = REPO / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "inbound.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results))


if __name__ == "__main__":
    main()
