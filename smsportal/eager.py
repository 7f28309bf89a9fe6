"""Countdown tasks in the embedded mode (`make run`: eager Celery, no broker).

Eager Celery runs a task the moment it is enqueued and ignores its countdown: a send or plugin
retry planned for 2 s later ran at once, found its rows not yet due, and waited for the next 30 s
sweep. While `countdowns` runs (adherence/embedded.py starts it with the embedded beat, so only
under the dev server), a task enqueued with a countdown or eta waits here instead and runs, eagerly
as every embedded task, when it falls due. Nothing is lost when the process stops: the rows keep
their `next_attempt_at` and the sweeps run whatever came due. Everywhere else (tests, shell,
management commands) eager tasks behave as Celery's: at once. Why a timer and not a worker with an
embedded broker: docs/architecture.md, "The embedded mode".
"""

import heapq
import itertools
import logging
import threading
import time
import uuid
from datetime import UTC, datetime

from celery.contrib.django.task import DjangoTask
from django.db import connections

logger = logging.getLogger(__name__)
MAX_RUNNING = 4  # due tasks run side by side (a plugin call may take SMSPORTAL_HTTP_TIMEOUT)


class CountdownTimer:
    """Runs each scheduled task when it falls due: one thread waits for the earliest, and hands
    it to a thread of its own (at most MAX_RUNNING at once)."""

    def __init__(self) -> None:
        self._heap: list[tuple] = []  # (due, sequence, task, args, kwargs); due on time.monotonic()
        self._sequence = itertools.count()
        self._condition = threading.Condition()
        self._slots = threading.BoundedSemaphore(MAX_RUNNING)
        self._thread: threading.Thread | None = None
        self._stopping = False

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self) -> None:
        with self._condition:
            if self._thread is not None:
                return
            self._stopping = False
            self._thread = threading.Thread(target=self._loop, name="smsportal-countdowns", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Drop what is pending and wait (bounded) for the tasks already running."""
        with self._condition:
            thread, self._stopping = self._thread, True
            self._heap.clear()
            self._condition.notify_all()
        if thread is not None:
            thread.join(timeout)
        deadline = time.monotonic() + timeout
        for _ in range(MAX_RUNNING):  # every slot back: nothing runs any more
            if self._slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
                continue
            logger.warning("embedded countdown task still running at stop")
            break
        self._slots = threading.BoundedSemaphore(MAX_RUNNING)
        with self._condition:
            self._thread = None

    def schedule(self, delay: float, task, args, kwargs) -> None:
        with self._condition:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._sequence), task, args, kwargs))
            self._condition.notify()

    def pending(self) -> int:
        with self._condition:
            return len(self._heap)

    def _loop(self) -> None:
        while True:
            with self._condition:
                while not self._stopping and (not self._heap or self._heap[0][0] > time.monotonic()):
                    self._condition.wait(self._heap[0][0] - time.monotonic() if self._heap else None)
                if self._stopping:
                    return
                _, _, task, args, kwargs = heapq.heappop(self._heap)
            slots = self._slots
            slots.acquire()
            threading.Thread(target=_run, args=(task, args, kwargs, slots), name=f"countdown-{task.name}").start()


def _run(task, args, kwargs, slots: threading.BoundedSemaphore) -> None:
    try:
        result = task.apply(args=args, kwargs=kwargs)
        if result.failed():
            logger.error("embedded countdown task failed", extra={"task": task.name})
    except Exception:  # the thread ends either way; the sweeps recover the rows
        logger.exception("embedded countdown task failed", extra={"task": task.name})
    finally:
        connections.close_all()  # this thread's own connections; it ends here
        slots.release()


countdowns = CountdownTimer()


def _seconds_until(options: dict) -> float:
    if options.get("countdown"):
        return float(options["countdown"])
    eta = options.get("eta")
    if isinstance(eta, str):
        eta = datetime.fromisoformat(eta)
    if isinstance(eta, datetime):
        return (eta - datetime.now(eta.tzinfo or UTC)).total_seconds()
    return 0.0


class Task(DjangoTask):
    """The project's task class (smsportal/celery.py): Celery's, except that while `countdowns`
    runs, an eager task with a countdown or eta is deferred to it instead of running at once."""

    def apply_async(
        self, args=None, kwargs=None, task_id=None, producer=None, link=None, link_error=None, shadow=None, **options
    ):
        if countdowns.running and self.app.conf.task_always_eager:
            delay = _seconds_until(options)
            if delay > 0:
                countdowns.schedule(delay, self, args, kwargs)
                return self.AsyncResult(task_id or str(uuid.uuid4()))
        return super().apply_async(args, kwargs, task_id, producer, link, link_error, shadow, **options)
