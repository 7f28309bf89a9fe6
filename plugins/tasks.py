"""Thin Celery tasks for plugins: ids in, one service call, retry scheduling here."""

from celery import shared_task

from plugins.runner import invocations_recover, plugin_invocation_run, plugin_invocations_run


@shared_task(acks_late=True)
def plugin_invocation_run_task(invocation_id: str) -> None:
    countdown = plugin_invocation_run(invocation_id=invocation_id)
    if countdown is not None:
        # The row says when it is due; a lost retry task is recovered by the sweeper.
        plugin_invocation_run_task.apply_async((invocation_id,), countdown=countdown)


@shared_task(acks_late=True)
def plugin_invocations_run_task(invocation_ids: list[str]) -> None:
    """A chunk of new invocations (one task, calls made concurrently); retries go one by one."""
    for invocation_id, countdown in plugin_invocations_run(invocation_ids=invocation_ids).items():
        plugin_invocation_run_task.apply_async((invocation_id,), countdown=countdown)


@shared_task
def plugins_sweep_task() -> dict:
    """Beat: recover invocations whose task was lost or whose worker died mid-call."""
    reset, due = invocations_recover()
    for invocation_id in due:
        plugin_invocation_run_task.delay(str(invocation_id))
    return {"reset": reset, "requeued": len(due)}
