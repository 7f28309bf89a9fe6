"""Outbound benchmark on the production shape: gunicorn (4 sync workers) + two Celery worker
processes on PostgreSQL + Redis, a BulkSMS-speaking provider simulator on 127.0.0.1.

Prints:
  accept    recipients/s accepted by one POST /api/sms/outbound with 10,000 recipients
  dispatch  messages/s from that POST until all 10,000 are `sent` through the gateway over HTTP
  single    sends/s through POST /notification/v1/sms/send (concurrent keep-alive clients)

Then, with wrk, the issue's yardstick on this machine (bench/bare_drf.py: a bare DRF endpoint
inserting one row) and single sends as a share of it.

Usage: .venv/bin/python bench/outbound.py [--runs 3] [--recipients 10000] [--single 6000]
Needs PostgreSQL on 127.0.0.1:5432 (user postgres) and Redis on 127.0.0.1:6379. Uses its own
database (smsportal_bench_outbound) and Redis DB (BENCH_REDIS_DB, default 4). Loopback only;
every loop is bounded by a count and a deadline.
"""

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
DB_NAME = os.environ.get("BENCH_DB_NAME", "smsportal_bench_outbound")
REDIS_URL = f"redis://127.0.0.1:6379/{os.environ.get('BENCH_REDIS_DB', '4')}"
DATABASE_URL = f"postgres://postgres@127.0.0.1:5432/{DB_NAME}"
AREA_CODES = ["202", "212", "312", "415", "617", "718", "305", "404", "512", "206"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition, *, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise SystemExit(f"timed out waiting for {what}")


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def server_env() -> dict:
    from cryptography.fernet import Fernet

    return {
        **os.environ,
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": REDIS_URL,
        "CELERY_BROKER_URL": REDIS_URL,
        "DEBUG": "0",
        "SECRET_KEY": "bench-" + "x" * 60,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SMSPORTAL_ENCRYPTION_KEY": os.environ.get("BENCH_ENCRYPTION_KEY") or Fernet.generate_key().decode(),
        "SMSPORTAL_ALLOW_PRIVATE_URLS": "1",
        "LOG_LEVEL": "WARNING",
    }


def prepare_database(env: dict) -> None:
    subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"DROP DATABASE IF EXISTS {DB_NAME}"],
        check=True,
        env=env,
    )
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", f"CREATE DATABASE {DB_NAME}"], check=True)
    subprocess.run([PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)


def setup_django(env: dict) -> None:
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY")})
    os.environ.update({"SMSPORTAL_ENCRYPTION_KEY": env["SMSPORTAL_ENCRYPTION_KEY"], "DEBUG": "0"})
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsportal.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def create_tenant(sim_url: str) -> str:
    from entities.services import api_key_create, organization_get_or_create
    from gateways.models import Gateway

    org = organization_get_or_create(slug="bench", name="Bench Clinic")
    Gateway.objects.create(
        organization=org,
        name="BulkSMS (simulator)",
        type="bulksms",
        config={"urlTemplate": f"{sim_url}/v1/messages", "username": "bench"},
        secrets={"password": "bench"},
        is_default=True,
    )
    return api_key_create(organization=org)[1]


def start(cmd: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def post_json(url: str, payload, headers: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json", **headers}
    )
    with urllib.request.urlopen(request, timeout=120) as response:  # loopback only
        return response.status, json.loads(response.read())


def count_sent(batch_id: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM messaging_outboundmessage WHERE batch_id = %s AND status = 'sent'", [batch_id]
        )
        return cursor.fetchone()[0]


def bulk_run(base: str, key: str, n: int, area: str, web_pid: int | None = None) -> tuple[float, float]:
    """(recipients/s accepted, messages/s sent). With `web_pid`, the CPU ms per recipient the POST
    cost the web tree and PostgreSQL is left in `bulk_run.accept_cpu_ms`."""
    from loadgen import BackendCpu, cpu_of_tree

    recipients = [f"+1{area}555{i:04d}" for i in range(n)]
    payload = {"message": "Clinic reminder: your appointment is tomorrow at 9:00.", "recipients": recipients}
    before = (cpu_of_tree(web_pid), BackendCpu(DB_NAME).start()) if web_pid else None
    t0 = time.perf_counter()
    status, body = post_json(f"{base}/api/sms/outbound", payload, {"Authorization": f"Bearer {key}"})
    t1 = time.perf_counter()
    if before:
        bulk_run.accept_cpu_ms = (cpu_of_tree(web_pid) - before[0] + before[1].stop()) * 1000 / n
    assert status == 200 and body["response"]["queued"] == n, body.get("message")
    batch_id = body["response"]["batchId"]
    deadline = time.monotonic() + 180
    while count_sent(batch_id) < n:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {count_sent(batch_id)}/{n} sent after 180 s")
        time.sleep(0.02)
    t2 = time.perf_counter()
    return n / (t1 - t0), n / (t2 - t0)


def _send_request(host: str, port: int, key: str, number: str | None) -> bytes:
    if number is None:  # the reference: GET /healthz (one SELECT 1 and one Redis PING)
        return f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    body = json.dumps({"message": "Time for your 8am dose. Reply 1 when taken.", "phoneNumber": number})
    return (
        f"POST /notification/v1/sms/send HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Authorization: Bearer {key}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


async def _single_client(host: str, port: int, key: str, numbers: list, deadline: float, out: list):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for number in numbers:
            if time.monotonic() > deadline:
                return
            writer.write(_send_request(host, port, key, number))
            status_line = await reader.readline()
            length = 0
            close = False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                if name.lower() == "connection" and value.strip().lower() == "close":
                    close = True
            await reader.readexactly(length)
            out.append(int(status_line.split()[1]))
            if close:  # gunicorn sync workers close after each response; reconnect
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


CLIENT = "wrk" if shutil.which("wrk") else "asyncio"
WRK_SCRIPT = """
local counter, threads = 0, 0
function setup(thread) threads = threads + 1; thread:set("tid", threads) end
function init(args) area, key = args[1], args[2] end
function request()
  if area == "-" then return wrk.format("GET", "/healthz") end
  counter = counter + 1
  local number = string.format("+1%s%d%02d%04d", area, 2 + tid, math.floor(counter / 10000) % 100, counter % 10000)
  local body = '{"message":"Time for your 8am dose. Reply 1 when taken.","phoneNumber":"' .. number .. '"}'
  return wrk.format("POST", "/notification/v1/sms/send",
    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. key}, body)
end
"""


def wrk_run(port: int, key: str, area: str | None, seconds: int, clients: int = 16) -> tuple[float, int]:
    """Requests/s measured by wrk (a C load generator: a Python client would take a third of the
    two cores from the server it measures). Non-2xx answers are excluded from the rate."""
    script = ROOT / "bench" / "results" / "single.lua"
    script.write_text(WRK_SCRIPT)
    command = ["wrk", "-t", "2", "-c", str(clients), "-d", f"{seconds}s", "-s", str(script)]
    command += [f"http://127.0.0.1:{port}", "--", area or "-", key]
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    requests = int(out.split(" requests in ")[0].split()[-1])
    elapsed = float(out.split(" requests in ")[1].split("s,")[0])
    errors = int(out.split("Non-2xx or 3xx responses:")[1].split()[0]) if "Non-2xx" in out else 0
    if errors:
        print(f"  warning: {errors} of {requests} requests were not 2xx")
    return (requests - errors) / elapsed, requests


def single_run(port: int, key: str, total: int, area: str | None, clients: int = 16, cpu_of=None) -> float:
    """Requests/s of single sends (or GET /healthz when `area` is None): wrk when installed
    (`apt-get install wrk`), else `total` requests from an asyncio client over `clients` connections.
    With `cpu_of` (name → root pid), also prints the CPU each request cost each process tree."""
    from loadgen import BackendCpu

    before = _cpu_snapshot(cpu_of) if cpu_of else None
    backends = BackendCpu(DB_NAME).start() if cpu_of else None
    if CLIENT == "wrk":
        rate, count = wrk_run(port, key, area, seconds=10, clients=clients)
    else:
        rate, count = _asyncio_run(port, key, total, area, clients)
    if cpu_of:
        after = _cpu_snapshot(cpu_of)
        parts = {name: (after[name] - before[name]) * 1000 / max(1, count) for name in after}
        parts["postgres"] = backends.stop() * 1000 / max(1, count)
        single_run.cpu_ms = parts
        shown = ", ".join(f"{name} {ms:.2f}" for name, ms in parts.items())
        print(f"  {'single send' if area else 'GET /healthz'}: CPU ms per request {sum(parts.values()):.2f} ({shown})")
    return rate


def _cpu_snapshot(roots: dict[str, int]) -> dict[str, float]:
    """CPU seconds so far of each process tree and of the load generator (wrk: this process's
    waited-for children); PostgreSQL's backends are read by loadgen.BackendCpu."""
    from loadgen import cpu_of_tree  # bench/loadgen.py, the same /proc accounting

    snapshot = {name: cpu_of_tree(pid) for name, pid in roots.items()}
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    snapshot["client"] = usage.ru_utime + usage.ru_stime if CLIENT == "wrk" else time.process_time()
    return snapshot


def _asyncio_run(port: int, key: str, total: int, area: str | None, clients: int) -> tuple[float, int]:
    numbers = [f"+1{area}556{i:04d}" for i in range(total)] if area else [None] * total
    statuses: list[int] = []

    async def main():
        deadline = time.monotonic() + 60
        share = [numbers[i::clients] for i in range(clients)]
        await asyncio.gather(*(_single_client("127.0.0.1", port, key, s, deadline, statuses) for s in share))

    t0 = time.perf_counter()
    asyncio.run(main())
    elapsed = time.perf_counter() - t0
    ok = sum(1 for s in statuses if s == 200)
    if ok != len(statuses):
        print(f"  warning: {len(statuses) - ok} of {len(statuses)} single sends were not 200")
    return ok / elapsed, len(statuses)


# Where the message log's text search index for sent messages lives: on the texts table, each
# distinct text once (messaging/migrations/0013, as migrated); on every outbox row, as 0008 first
# made it; or nowhere (no text search): what each costs the accept, single sends and status changes.
TRIGRAM_STATES = ("texts table", "every copy", "none")
TRIGRAM_SQL = 'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" USING gin ((UPPER("body"::text)) gin_trgm_ops)'


def trigram_indexes(state: str) -> None:
    """Put the sent texts' trigram index in one of TRIGRAM_STATES, between timed runs."""
    from django.db import connection

    wanted = {
        "outbound_text_body_trgm": ("messaging_outboundtext", state != "none"),
        "outbound_body_trgm": ("messaging_outboundmessage", state == "every copy"),
    }
    with connection.cursor() as cursor:
        for name, (table, present) in wanted.items():
            if present:
                cursor.execute(TRIGRAM_SQL.format(name=name, table=table))
            else:
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--single", type=int, default=6_000, help="single sends per run")
    parser.add_argument("--web-workers", type=int, default=4)
    parser.add_argument("--celery-concurrency", type=int, default=2)
    parser.add_argument(
        "--trigram-ab",
        action="store_true",
        help="alternate runs with the sent texts' trigram index on the texts table (as migrated), on every "
        "outbox row (as before migration 0013) and nowhere: what each costs the accept and single sends",
    )
    parser.add_argument(
        "--providers",
        action="store_true",
        help="afterwards, run bench/providers.py: BulkSMS batched, Twilio one-per-request, rate limit 50/s",
    )
    args = parser.parse_args()

    env = server_env()
    logs = ROOT / "bench" / "results"
    logs.mkdir(parents=True, exist_ok=True)
    prepare_database(env)
    setup_django(env)
    import redis

    redis.Redis.from_url(REDIS_URL).delete("celery", "smsportal:outbound:dispatch-pending")

    sim_port, web_port = free_port(), free_port()
    processes = []
    try:
        processes.append(
            start(
                [PYTHON, "manage.py", "provider_simulator", "--port", str(sim_port), "--no-record"],
                env,
                logs / "simulator.log",
            )
        )
        processes.append(
            start(
                [
                    PYTHON, "-m", "gunicorn", "smsportal.wsgi", "-b", f"127.0.0.1:{web_port}",
                    "-w", str(args.web_workers), "--worker-class", "sync", "--log-level", "warning",
                ],
                env,
                logs / "gunicorn.log",
            )
        )  # fmt: skip
        processes.append(
            start(
                [
                    PYTHON, "-m", "celery", "-A", "smsportal", "worker", "--pool=prefork",
                    f"--concurrency={args.celery_concurrency}", "--loglevel=WARNING",
                    "--without-gossip", "--without-mingle", "--without-heartbeat",
                ],
                env,
                logs / "celery.log",
            )
        )  # fmt: skip
        wait_until(lambda: port_open(sim_port) and port_open(web_port), timeout=30, what="simulator and gunicorn")
        key = create_tenant(f"http://127.0.0.1:{sim_port}")
        base = f"http://127.0.0.1:{web_port}"
        # Warm up: every gunicorn worker imports lazily; the Celery worker connects.
        bulk_run(base, key, 200, "201")
        single_run(web_port, key, 400, "203")

        cpu_of = {"web": processes[1].pid, "worker": processes[2].pid, "simulator": processes[0].pid}
        redis_pid = subprocess.run(["pgrep", "-o", "redis-server"], capture_output=True, text=True).stdout.strip()
        if redis_pid:
            cpu_of["redis"] = int(redis_pid)
        accept, dispatch, single, reference = [], [], [], []
        # With --trigram-ab the runs go A B C C B A …: a drift of the machine over the runs weighs
        # on each state alike.
        order = list(TRIGRAM_STATES) + list(reversed(TRIGRAM_STATES))
        by_state: dict[str, list] = {state: [] for state in TRIGRAM_STATES}
        for run in range(args.runs):
            state = order[run % len(order)]
            if args.trigram_ab:
                trigram_indexes(state)
            a, d = bulk_run(base, key, args.recipients, AREA_CODES[run % len(AREA_CODES)], web_pid=processes[1].pid)
            s = single_run(web_port, key, args.single, AREA_CODES[run % len(AREA_CODES)], cpu_of=cpu_of)
            single_ms = single_run.cpu_ms["web"] + single_run.cpu_ms["postgres"]
            by_state[state].append((a, bulk_run.accept_cpu_ms, s, single_ms))
            print(
                f"  accept CPU {bulk_run.accept_cpu_ms:.3f} ms per recipient (web + PostgreSQL); single send "
                f"{single_ms:.2f} ms (web + PostgreSQL)" + (f"; trigram indexes {state}" if args.trigram_ab else "")
            )
            # The same client against the cheapest DB-touching endpoint: how loaded is this machine now?
            r = single_run(web_port, key, args.single, None, cpu_of=cpu_of)
            accept.append(a)
            dispatch.append(d)
            single.append(s)
            reference.append(r)
            print(
                f"run {run + 1} (client: {CLIENT}): accept {a:,.0f} recipients/s  dispatch {d:,.0f} msg/s  "
                f"single {s:,.0f} sends/s  (reference GET /healthz {r:,.0f} req/s)"
            )
        print(
            f"median of {args.runs}: accept {statistics.median(accept):,.0f} recipients/s (target 20,000); "
            f"dispatch {statistics.median(dispatch):,.0f} msg/s (target 2,000); "
            f"single {statistics.median(single):,.0f} sends/s (target 800); "
            f"reference GET /healthz {statistics.median(reference):,.0f} req/s; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
        )
        if args.trigram_ab:
            trigram_indexes("texts table")
            for state, rows in by_state.items():
                if rows:
                    med = [statistics.median(column) for column in zip(*rows, strict=True)]
                    print(
                        f"trigram indexes {state} ({len(rows)} runs, medians): accept {med[0]:,.0f} recipients/s, "
                        f"{med[1]:.3f} ms CPU per recipient; single {med[2]:,.0f} sends/s, {med[3]:.2f} ms CPU each"
                    )
    finally:
        for process in reversed(processes):
            stop(process)
    if CLIENT == "wrk":
        # The yardstick on this machine (bench/bare_drf.py): 800 single sends/s where a bare
        # DRF endpoint inserting one row serves about 1,250/s, i.e. 64 % of it.
        from bare_drf import measure

        bare = measure()
        share = statistics.median(single) / bare
        print(
            f"bare DRF endpoint inserting one row: {bare:,.0f} req/s on this machine; single sends are "
            f"{share:.0%} of it (target 800 / 1,250 = 64 %, i.e. {0.64 * bare:,.0f}/s here)"
        )
    if args.providers:
        # Provider modes live in bench/providers.py (gateways); same shape, its own database.
        subprocess.run([PYTHON, str(ROOT / "bench" / "providers.py"), "--mode", "all"], cwd=ROOT, check=False)


if __name__ == "__main__":
    main()
