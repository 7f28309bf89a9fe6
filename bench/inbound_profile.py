"""In-process CPU profile of the inbound path, against PostgreSQL (no gunicorn, no Celery).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smsportal_inbound_prof REDIS_URL=redis://127.0.0.1:6379/7 \
    .venv/bin/python bench/inbound_profile.py [--n 500] [--gap-ms 20] [--cprofile webhook|route|plugins|quiet]

Prints CPU ms (time.process_time of this process: Django, psycopg, our code; and apart, the CPU
of this process's PostgreSQL backend) per webhook through the WSGI application gunicorn serves
(its middleware included), per reply routed (`inbound_route_pending`), per plugin call
(`plugin_invocations_run`, chunks of 16, plugin stand-in in another process) and per reply routed
alone with its plugin call in the same run (the path at low rates; `--gap-ms` idles between them, as
replies arriving at a low rate find cold caches). The database named in
DATABASE_URL is dropped and recreated.
"""

import argparse
import cProfile
import io
import multiprocessing as mp
import os
import pstats
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import inbound as bench  # noqa: E402
import webhook_load  # noqa: E402
from loadgen import _cpu  # noqa: E402


def backend_cpu() -> float:
    """CPU seconds of this process's PostgreSQL backend so far (the server runs on this machine)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return _cpu(cursor.fetchone()[0])


def wsgi_call(application, request) -> int:
    _, path, headers, body = request
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": urlsplit(os.environ["SMSPORTAL_PUBLIC_BASE_URL"]).port,
        "REMOTE_ADDR": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": headers["Content-Type"],
        "HTTP_X_TWILIO_SIGNATURE": headers["X-Twilio-Signature"],
        "HTTP_HOST": "127.0.0.1",
    }
    status = []
    chunks = application(environ, lambda s, h, exc_info=None: status.append(s))
    b"".join(chunks)
    if hasattr(chunks, "close"):
        chunks.close()
    return int(status[0].split()[0])


def timed(label: str, n: int, func, profile: bool):
    # CPU time, not wall time: on a shared machine waiting for a core would dominate a wall profile.
    profiler = cProfile.Profile(time.process_time) if profile else None
    started, backend_started = time.process_time(), backend_cpu()
    wall = time.perf_counter()
    if profiler:
        profiler.enable()
    result = func()
    if profiler:
        profiler.disable()
    cpu = (time.process_time() - started) * 1000 / max(1, n)
    wall_ms = (time.perf_counter() - wall) * 1000 / max(1, n)
    backend = (backend_cpu() - backend_started) * 1000 / max(1, n)
    print(f"{label}: {cpu:.2f} ms CPU per item, PostgreSQL {backend:.2f} ms ({n} items, {wall_ms:.2f} ms wall)")
    if profiler:
        dump = REPO / "bench" / "results" / "inbound_profile.prof"
        dump.parent.mkdir(parents=True, exist_ok=True)
        profiler.dump_stats(dump)  # for pstats / snakeviz
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(45)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--cprofile", choices=["webhook", "route", "plugins", "quiet", ""], default="")
    parser.add_argument("--batch", type=int, default=50, help="replies per routing run / invocations per task")
    parser.add_argument("--gap-ms", type=float, default=0.0, help="idle time between quiet replies (as at a low rate)")
    args = parser.parse_args()
    port = bench.free_port()
    env = {
        "DJANGO_SETTINGS_MODULE": "smsportal.settings",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smsportal_inbound_prof"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/7"),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "SMSPORTAL_ALLOW_PRIVATE_URLS": "1",
        "SMSPORTAL_PUBLIC_BASE_URL": "http://127.0.0.1:8000",
    }
    os.environ.update(env)
    import redis

    bench.recreate_database(env["DATABASE_URL"])
    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    bench.run([str(bench.BIN / "python"), "manage.py", "migrate", "--noinput"], {**os.environ, **env})

    arrivals_q: mp.Queue = mp.Queue()
    ready = mp.Event()
    receiver = mp.Process(target=webhook_load._receiver_main, args=(port, arrivals_q, ready), daemon=True)
    receiver.start()
    ready.wait(10)
    gateway_id = bench.seed(5000, f"http://127.0.0.1:{port}/plugin")

    from unittest import mock

    from smsportal.wsgi import application  # what gunicorn serves: the webhooks' short stack

    public = env["SMSPORTAL_PUBLIC_BASE_URL"]
    # Routing is driven below, not by a broker.
    patcher = mock.patch("messaging.tasks.inbound_route_task.delay")
    patcher.start()
    run_patch = mock.patch("plugins.tasks.plugin_invocations_run_task.delay")
    run_delay = run_patch.start()

    warm = [webhook_load.signed_request(public, gateway_id, f"SMw{i}", bench.phone(i), f"1 w{i}") for i in range(50)]
    for r in warm:
        assert wsgi_call(application, r) == 200
    from messaging.services.routing import inbound_route_pending
    from plugins.models import PluginInvocation
    from plugins.runner import plugin_invocations_run

    inbound_route_pending(max_batches=100)
    for call in run_delay.call_args_list:
        plugin_invocations_run(invocation_ids=call.args[0])
    run_delay.reset_mock()

    n = args.n
    reqs = [
        webhook_load.signed_request(public, gateway_id, f"SMp{i}", bench.phone(i + 50), f"1 p{i}") for i in range(n)
    ]
    statuses = timed(
        "webhook (WSGI, middleware included)",
        n,
        lambda: [wsgi_call(application, r) for r in reqs],
        args.cprofile == "webhook",
    )
    assert set(statuses) == {200}, set(statuses)
    routed = timed(
        f"routing (runs of {args.batch})",
        n,
        lambda: sum(inbound_route_pending(batch=args.batch, max_batches=1) for _ in range(-(-n // args.batch))),
        args.cprofile == "route",
    )
    assert routed == n, routed
    ids = [i for call in run_delay.call_args_list for i in call.args[0]]
    chunks = [ids[i : i + min(args.batch, 16)] for i in range(0, len(ids), min(args.batch, 16))]
    timed(
        f"plugin calls (chunks of {min(args.batch, 16)})",
        n,
        lambda: [plugin_invocations_run(invocation_ids=c) for c in chunks],
        args.cprofile == "plugins",
    )
    # The low-rate path: each reply routed alone, the run making its plugin call itself (no hop).
    quiet = [
        webhook_load.signed_request(public, gateway_id, f"SMq{i}", bench.phone(i + 50 + n), f"1 q{i}") for i in range(n)
    ]
    run_delay.reset_mock()
    timed(
        "one reply at a time: webhook, its routing run and plugin call (the quiet path)",
        n,
        lambda: [(wsgi_call(application, r), inbound_route_pending(), time.sleep(args.gap_ms / 1000)) for r in quiet],
        args.cprofile == "quiet",
    )
    assert not run_delay.called, "a quiet run published its plugin calls"
    done = PluginInvocation.objects.filter(status="succeeded").count()
    print(f"invocations succeeded: {done}")
    patcher.stop()
    run_patch.stop()
    receiver.terminate()


if __name__ == "__main__":
    main()
