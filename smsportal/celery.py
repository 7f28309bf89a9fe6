"""Celery app: Django-aware tasks with delay_on_commit (Celery >= 5.4), whose countdowns the
embedded mode honours (smsportal/eager.py)."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsportal.settings")

app = Celery("smsportal", task_cls="smsportal.eager:Task")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _db_connections_refresh(task=None, **kwargs):
    """With CELERY_DB_REUSE_MAX Celery keeps DB connections across tasks; apply Django's own rule
    around each task instead (drop broken or CONN_MAX_AGE-expired connections), as a request would."""
    if task is not None and getattr(task.request, "is_eager", False):
        return  # eager tasks run inside the caller's transaction
    from django.db import close_old_connections

    close_old_connections()
