"""The embedded beat: `make run` has no Celery beat, so the dev server runs the periodic work itself.

Started only by `runserver` in eager mode (no broker), in its reloading child process, unless
SMSPORTAL_EMBEDDED_BEAT=0. Production runs `celery beat` (CELERY_BEAT_SCHEDULE) instead; the
work is the same idempotent services, so both running at once would still send each reminder once.
"""

import logging
import os
import threading
import time

logger = logging.getLogger(__name__)
TICK_SECONDS = 30
MATERIALIZE_EVERY = 20  # ticks (10 minutes)
_started = False


def should_start() -> bool:
    from django.conf import settings

    flag = os.environ.get("SMSPORTAL_EMBEDDED_BEAT", "auto").lower()
    if flag in ("0", "false", "no"):
        return False
    if flag in ("1", "true", "yes"):
        return True
    return settings.CELERY_TASK_ALWAYS_EAGER and os.environ.get("RUN_MAIN") == "true"


def start() -> None:
    global _started
    if _started:
        return
    _started = True
    threading.Thread(target=_loop, name="smsportal-embedded-beat", daemon=True).start()
    logger.info("embedded beat started", extra={"tick_seconds": TICK_SECONDS})


def _loop() -> None:
    from django.db import close_old_connections

    tick = 0
    while True:
        try:
            from adherence.services import reminders_send_due, slots_close_missed, slots_materialize
            from messaging.services.outbound import outbound_sweep

            if tick % MATERIALIZE_EVERY == 0:
                slots_materialize()
            reminders_send_due()
            slots_close_missed()
            outbound_sweep()
        except Exception:  # keep ticking: the next run retries; nothing here is lost
            logger.exception("embedded beat tick failed")
        finally:
            close_old_connections()
        tick += 1
        time.sleep(TICK_SECONDS)
