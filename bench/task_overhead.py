"""What one Celery task costs at a low rate, apart from its own work: the floor under CPU per reply
at 50/s (bench/inbound.py), where every reply is one routing run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/smsportal_task_overhead REDIS_URL=redis://127.0.0.1:6379/8 \
    .venv/bin/python bench/task_overhead.py [--rate 50] [--seconds 10] [--pool prefork]

Starts a worker as bench/inbound.py does (concurrency 2, Redis broker), publishes the routing task
at `--rate` with nothing waiting (its own work: clearing the route-pending flag and an empty claim),
and prints the worker's CPU per task (its main process, which talks to Redis, and the pool
processes apart); then the same task body called in this process and one publish, for scale.
The database named in DATABASE_URL is dropped and recreated.
"""

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from inbound import BIN, recreate_database, run  # noqa: E402
from loadgen import _processes  # noqa: E402

ROUTE_TASK = "messaging.tasks.inbound_route_task"


def cpu_ms_per(func, n: int) -> float:
    started = time.process_time()
    for _ in range(n):
        func()
    return (time.process_time() - started) * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--pool", default="prefork", choices=["prefork", "threads"])
    args = parser.parse_args()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "smsportal.settings",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/smsportal_task_overhead"),
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/8"),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    env["CELERY_BROKER_URL"] = env["REDIS_URL"]
    os.environ.update(env)
    recreate_database(env["DATABASE_URL"])
    run([str(BIN / "python"), "manage.py", "migrate", "--noinput"], env)

    import django

    django.setup()
    from messaging.services.routing import inbound_route_pending
    from smsportal.enqueue import enqueue
    from smsportal.redis import get_redis

    broker = get_redis()
    broker.flushdb()
    worker = subprocess.Popen(
        [str(BIN / "celery"), "-A", "smsportal", "worker", "-c", "2", "-P", args.pool, "--without-gossip",
         "--without-mingle", "--without-heartbeat", "-l", "WARNING"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        enqueue(ROUTE_TASK)
        while broker.llen("celery"):  # the worker is up once it took the first task
            if time.monotonic() > deadline or worker.poll() is not None:
                raise RuntimeError("the Celery worker did not start taking tasks within 60 s")
            threading.Event().wait(0.2)
        threading.Event().wait(2)  # let the warm-up task finish; not synchronising a result
        count = int(args.rate * args.seconds)
        before = _processes()
        started = time.perf_counter()
        for i in range(count):
            delay = started + i / args.rate - time.perf_counter()
            if delay > 0:
                threading.Event().wait(delay)  # pacing the load
            enqueue(ROUTE_TASK)
        deadline = time.monotonic() + 30
        while broker.llen("celery"):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{broker.llen('celery')} tasks still queued 30 s after the last publish")
            threading.Event().wait(0.1)
        threading.Event().wait(1)  # the last task's run, after it left the queue
        after = _processes()
        main_ms = (after[worker.pid][1] - before[worker.pid][1]) * 1000 / count
        pool = [p for p, (parent, _) in after.items() if parent == worker.pid]
        pool_ms = sum(after[p][1] - before.get(p, (0, 0.0))[1] for p in pool) * 1000 / count
        if args.pool == "threads":
            pool_ms = 0.0  # one process: all of it is counted as the main process's
        print(
            f"worker CPU per task at {args.rate:.0f}/s ({args.pool}, {count} tasks): {main_ms + pool_ms:.2f} ms "
            f"(main process {main_ms:.2f}, pool processes {pool_ms:.2f})"
        )
    finally:
        worker.terminate()
        worker.wait(10)
    body = cpu_ms_per(inbound_route_pending, 500)
    publish = cpu_ms_per(lambda: enqueue(ROUTE_TASK), 500)
    broker.delete("celery")
    print(f"the same task body in process: {body:.2f} ms; one publish (in the web process): {publish:.2f} ms")


if __name__ == "__main__":
    main()
