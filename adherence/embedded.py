"""The embedded beat: `make run` has no Celery beat, so the dev server runs the periodic work itself.

Started only by `runserver` in eager mode (no broker), in its reloading child process, unless
SMSPORTAL_EMBEDDED_BEAT=0. It runs EVERY entry of settings.CELERY_BEAT_SCHEDULE at that entry's
interval — the same schedule production's `celery beat` uses, so a new periodic task is picked up
without touching this file. The tasks are idempotent services, so both running at once would still
send each reminder once. With it starts the timer that runs countdown tasks (send and plugin
retries) when they fall due, not at the next sweep (smsportal/eager.py).
"""

import logging
import os
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone
from django.utils.module_loading import import_string

from smsportal.eager import countdowns

logger = logging.getLogger(__name__)
TICK_SECONDS = 5  # granularity; each entry still runs at its own interval
_started = False


def should_start() -> bool:
    flag = os.environ.get("SMSPORTAL_EMBEDDED_BEAT", "auto").lower()
    if flag in ("0", "false", "no"):
        return False
    if flag in ("1", "true", "yes"):
        return True
    return settings.CELERY_TASK_ALWAYS_EAGER and os.environ.get("RUN_MAIN") == "true"


def _interval_seconds(schedule) -> float | None:
    """A number or timedelta → seconds; anything else (a crontab) is asked via is_due()."""
    if isinstance(schedule, int | float):
        return float(schedule)
    if isinstance(schedule, timedelta):
        return schedule.total_seconds()
    return None


class EmbeddedBeat:
    """Runs each due beat entry in this thread (tasks are eager). Every entry runs on the first tick."""

    def __init__(self) -> None:
        self.last_run: dict[str, float] = {}  # entry name → time.monotonic() of its last run
        self.last_run_at: dict = {}  # entry name → aware datetime (for crontab-style schedules)

    def _due(self, name: str, schedule, now: float) -> bool:
        last = self.last_run.get(name)
        if last is None:
            return True
        seconds = _interval_seconds(schedule)
        if seconds is not None:
            return now - last >= seconds
        return bool(schedule.is_due(self.last_run_at[name]).is_due)

    def tick(self, now: float | None = None) -> list[str]:
        """Run the entries that are due; returns their names. One failing entry does not stop the others."""
        now = time.monotonic() if now is None else now
        ran = []
        for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
            if not self._due(name, entry["schedule"], now):
                continue
            self.last_run[name], self.last_run_at[name] = now, timezone.now()
            try:
                task = import_string(entry["task"])
                task(*entry.get("args", ()), **entry.get("kwargs", {}))
                ran.append(name)
            except Exception:  # keep ticking: the next run retries; nothing here is lost
                logger.exception("embedded beat entry failed", extra={"entry": name})
            finally:
                close_old_connections()
        return ran


def start() -> None:
    global _started
    if _started:
        return
    _started = True
    countdowns.start()
    threading.Thread(target=_loop, name="smsportal-embedded-beat", daemon=True).start()
    logger.info("embedded beat started", extra={"tick_seconds": TICK_SECONDS})


def _loop() -> None:
    beat = EmbeddedBeat()
    while True:
        beat.tick()
        time.sleep(TICK_SECONDS)
