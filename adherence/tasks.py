"""Beat-driven adherence tasks: thin wrappers over adherence.services (no PHI in arguments)."""

from celery import shared_task

from adherence.follow_up import follow_up_sweep
from adherence.services import reminders_send_due, slots_close_missed, slots_materialize


@shared_task
def adherence_tick_task() -> dict:
    """Every 30 s: send due reminders, then close windows that passed (missed + caregiver alerts)."""
    return {"reminded": reminders_send_due(), "missed": slots_close_missed()}


@shared_task
def adherence_materialize_task() -> int:
    """Every 10 min: create the dose slots of the next 48 hours (idempotent)."""
    return slots_materialize()


@shared_task
def follow_up_sweep_task() -> int:
    """Every 10 min: put patients who stopped replying on the Follow up list (idempotent)."""
    return follow_up_sweep()
