"""Enqueue a Celery task by its registered name, so a service never imports the tasks module that
imports it (tasks → services is the one direction; docs/architecture.md).

The task object is looked up in the Celery app's registry, so everything a task object does still
holds: `CELERY_TASK_ALWAYS_EAGER` runs it inline, `countdown` delays it, and `enqueue_on_commit`
publishes only once the caller's transaction commits (Celery's Django `delay_on_commit`).

`followups_held()` lets a task keep the follow-up tasks its own work enqueues on commit and run the
first of them itself (`Followups.run_here`): at low rates a reply then costs one Celery hop, not two
(webhook → routing run → plugin calls), with the calls still made after the routing commit.
"""

import logging
import threading
from collections.abc import Callable
from contextlib import contextmanager

from celery import Task
from django.db import transaction

from smsportal.celery import app

logger = logging.getLogger(__name__)
_found: dict[str, Task] = {}
_local = threading.local()


def task_named(name: str) -> Task:
    task = _found.get(name)
    if task is None:
        if name not in app.tasks:
            # A web process has not imported the apps' tasks modules yet: Celery's autodiscovery does.
            app.loader.import_default_modules()
        task = _found[name] = app.tasks[name]
    return task


def enqueue(name: str, *args, countdown: float | None = None) -> None:
    """Publish now (run inline in eager mode)."""
    task = task_named(name)
    if countdown:
        task.apply_async(args, countdown=countdown)
    else:
        task.delay(*args)


def enqueue_on_commit(name: str, *args) -> None:
    """Publish when the current transaction commits (at once outside one); inside `followups_held()`,
    hold it for the holder instead (still only once committed: a rollback drops it)."""
    held = getattr(_local, "held", None)
    if held is not None:
        transaction.on_commit(lambda: held.tasks.append((name, args)))
        return
    task_named(name).delay_on_commit(*args)


class Followups:
    def __init__(self):
        self.tasks: list[tuple[str, tuple]] = []
        self.run_here = 0  # how many of the held tasks the holder runs itself, in this process


@contextmanager
def followups_held():
    """Hold the tasks enqueued on commit within; on leaving, publish all but the first
    `run_here` of them, then run those here, one after the other. On an exception every held task
    is published. A process dying before they ran loses nothing that was committed: the rows they
    would have worked on are found by their sweeper (plugins: `invocations_recover`)."""
    held = Followups()
    previous, _local.held = getattr(_local, "held", None), held
    try:
        yield held
    except BaseException:
        held.run_here = 0
        raise
    finally:
        _local.held = previous
        here, later = held.tasks[: held.run_here], held.tasks[held.run_here :]
        runner = getattr(_local, "runner", None)
        if runner is not None:  # handed over where possible; what the runner declines is published
            here, later = [], later + [task for task in here if not runner(*task)]
        for name, args in later:
            try:
                task_named(name).delay(*args)
            except Exception:  # noqa: BLE001 — the broker is down: the sweeper finds the rows
                logger.warning("follow-up task not published; its sweeper will pick the work up", exc_info=True)
        for name, args in here:
            try:
                task_named(name)(*args)  # the task's own body, retry scheduling included
            except Exception:  # noqa: BLE001 — as a task of its own would have: logged, rows swept
                logger.exception("follow-up task run in place failed", extra={"task": name})


def followups_run_by(runner: Callable[[str, tuple], bool] | None) -> None:
    """In this thread, hand the tasks a `followups_held()` holder would run itself to
    `runner(name, args)`, which returns False to have one published instead (the routing
    process: its own threads, so a slow plugin call does not hold up routing)."""
    _local.runner = runner
