"""Services enqueue tasks by name (smsportal/enqueue.py): every name they use is a registered task,
and eager mode still runs it inline."""

import pytest

from gateways.providers import simulator
from messaging.services import dispatch, routing
from plugins import invocations
from smsportal.celery import app
from smsportal.enqueue import enqueue, enqueue_on_commit, task_named

NAMES = [
    dispatch.DISPATCH_TASK,
    dispatch.DELIVER_TASK,
    routing.ROUTE_TASK,
    invocations.RUN_TASK,
    invocations.RUN_CHUNK_TASK,
    simulator.REPORTS_TASK,
]


@pytest.mark.parametrize("name", NAMES)
def test_every_name_a_service_enqueues_is_a_registered_task(name):
    assert task_named(name) is app.tasks[name]


def test_an_unknown_name_fails_loudly():
    with pytest.raises(KeyError):
        task_named("messaging.tasks.no_such_task")


@pytest.mark.django_db
def test_eager_mode_runs_inline_and_on_commit_waits_for_the_commit(
    settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    ran = []
    task = task_named(dispatch.DELIVER_TASK)
    monkeypatch.setattr(task, "run", lambda ids: ran.append(ids))

    enqueue(dispatch.DELIVER_TASK, ["a"])
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_on_commit(dispatch.DELIVER_TASK, ["b"])
        assert ran == [["a"]]  # not before the commit

    assert ran == [["a"], ["b"]]
