"""Enqueue a Celery task by its registered name, so a service never imports the tasks module that
imports it (tasks → services is the one direction; docs/architecture.md).

The task object is looked up in the Celery app's registry, so everything a task object does still
holds: `CELERY_TASK_ALWAYS_EAGER` runs it inline, `countdown` delays it, and `enqueue_on_commit`
publishes only once the caller's transaction commits (Celery's Django `delay_on_commit`).
"""

from celery import Task

from smsportal.celery import app

_found: dict[str, Task] = {}


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
    """Publish when the current transaction commits (at once outside one)."""
    task_named(name).delay_on_commit(*args)
