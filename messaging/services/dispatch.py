"""Dispatch: turn committed `queued` rows into delivery tasks (one per gateway batch).

Rows are committed before any task is enqueued; a task only carries ids. A lost request or task
is recovered by the sweeper (messaging/services/reconcile.py).
"""

import logging
import threading
import time
from collections import defaultdict

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from gateways.models import Gateway
from gateways.providers import get_adapter
from gateways.selectors import pull_gateway_ids
from messaging.models import OutboundMessage
from smsportal.enqueue import enqueue
from smsportal.flags import Flag
from smsportal.redis import get_redis

logger = logging.getLogger(__name__)
Status = OutboundMessage.Status

DISPATCH_PENDING_KEY = "smsportal:outbound:dispatch-pending"
# Holds the start time of the run that will next read the queue (smsportal/flags.py).
DISPATCH_PENDING = Flag(DISPATCH_PENDING_KEY, 5)
# Enqueued by name (smsportal/enqueue.py): messaging/tasks.py imports this module.
DISPATCH_TASK = "messaging.tasks.outbound_dispatch_task"
DELIVER_TASK = "messaging.tasks.outbound_deliver_task"
MAX_RECIPIENTS_PER_CALL = 200  # DHIS2 partitions recipient lists in slices of at most 200
DISPATCH_RUN_SECONDS = 20.0  # one dispatch run stops after this and asks for a new run

ETA_MARGIN_SECONDS = 0.05  # clock differences between web and worker hosts
_known_read_after = threading.local()


def dispatch_request() -> None:
    """Make sure a dispatch run will read the queue after what was just committed.

    One broker publish per pending run, not per request: the pending flag in Redis holds the start
    time (ETA) of the run that will next read the queue, and the dispatcher clears it before it
    reads. Setting it publishes a run; finding it set means a run will read at or after that ETA,
    so until shortly before it, rows committed in this thread need no Redis call at all (the
    single-send path would otherwise pay one per request). Without Redis the task runs inline.
    """
    client = get_redis()
    if client is None or settings.CELERY_TASK_ALWAYS_EAGER:
        enqueue(DISPATCH_TASK)
        return
    now = time.time()
    if now < getattr(_known_read_after, "eta", 0.0) - ETA_MARGIN_SECONDS:
        return
    delay = settings.SMSPORTAL_DISPATCH_DELAY
    eta = now + delay
    try:
        pending = DISPATCH_PENDING.raise_once(client, repr(eta))
        if pending is None:
            enqueue(DISPATCH_TASK, countdown=delay)
        else:
            eta = float(pending)
        _known_read_after.eta = eta
    except Exception:
        # Redis or the broker is down: the rows are committed; the sweeper dispatches them later.
        logger.warning("dispatch request not published; the sweeper will pick the messages up", exc_info=True)


def outbound_dispatch() -> int:
    """Reserve queued messages and enqueue one delivery task per gateway batch. Returns the count."""
    client = get_redis()
    if client is not None:
        DISPATCH_PENDING.clear(client)
    total = 0
    deadline = time.monotonic() + DISPATCH_RUN_SECONDS
    while True:
        if time.monotonic() > deadline:
            # Bounded: under a steady stream a single run never ends; hand over to a fresh run.
            dispatch_request()
            return total
        now = timezone.now()
        with transaction.atomic():
            due = (
                OutboundMessage.objects.select_for_update(skip_locked=True)
                .filter(status=Status.QUEUED, dispatched_at__isnull=True)
                # Pull-mode gateways' messages wait for their phone's poll (messaging/services/pull.py).
                .exclude(gateway_id__in=pull_gateway_ids())
                .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                .order_by("created_at")
                .values_list("id", "gateway_id")[: settings.SMSPORTAL_DISPATCH_BATCH]
            )
            rows = list(due)
            if not rows:
                return total
            OutboundMessage.objects.filter(id__in=[r[0] for r in rows]).update(dispatched_at=now)
        by_gateway: dict = defaultdict(list)
        for message_id, gateway_id in rows:
            by_gateway[gateway_id].append(str(message_id))
        for gateway_id, ids in by_gateway.items():
            size = _task_batch_size(gateway_id)
            for start in range(0, len(ids), size):
                enqueue(DELIVER_TASK, ids[start : start + size])
        total += len(rows)
        if len(rows) < settings.SMSPORTAL_DISPATCH_BATCH:
            # Drained. Rows committed from now on request a new run (the flag was cleared), which
            # starts after SMSPORTAL_DISPATCH_DELAY and so gathers a trickle of single sends into
            # one batch instead of one delivery task each.
            return total


def _task_batch_size(gateway_id) -> int:
    gateway = Gateway.objects.filter(pk=gateway_id).first()
    if gateway is None:
        return 100
    caps = get_adapter(gateway).capabilities
    # One-per-request providers still get 100 per task: per-task overhead dominates (docs/performance.md).
    # Batching providers get at most 200 per call, DHIS2's MAX_RECIPIENTS_ALLOWED.
    return min(caps.max_batch_size, MAX_RECIPIENTS_PER_CALL) if caps.max_batch_size > 1 else 100
