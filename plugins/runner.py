"""Running plugin invocations: claim, call, record.

`plugin_invocations_run` claims due rows with one conditional UPDATE (a redelivered task is
harmless), calls the plugins outside any transaction (webhooks concurrently, through
plugins/transport.py; built-in handlers in this thread) and records each outcome: succeeded,
retrying (backoff + jitter) or failed. `invocations_recover` finds the rows whose task was lost.
"""

import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from gateways.providers.httpbase import per_process
from messaging import live
from plugins.models import PluginInvocation, PluginRegistration
from plugins.registrations import registrations_enabled
from plugins.transport import request_prepare, request_send
from plugins.validation import handler_resolve
from smsportal.db import rows_as
from smsportal.localcache import local_caches_clear
from smsportal.retry import backoff

logger = logging.getLogger(__name__)
Status = PluginInvocation.Status
CALL_THREADS = 8  # concurrent HTTP calls within one task


def plugin_invocation_run(*, invocation_id: str) -> float | None:
    """Run one attempt. Returns the countdown for the next attempt, or None when done (or not ours)."""
    return plugin_invocations_run(invocation_ids=[invocation_id]).get(str(invocation_id))


def plugin_invocations_run(*, invocation_ids: list) -> dict[str, float]:
    """One attempt of each claimable invocation; webhook calls run concurrently (no DB access in
    the threads), built-in handlers in this thread. Returns {id: countdown} for those to retry."""
    now = timezone.now()
    if connection.vendor == "postgresql":
        invocations = _claim_and_load(invocation_ids, now)
    else:
        claimed = _claim(invocation_ids, now)
        invocations = _claimed_load(claimed) if claimed else []
    if not invocations:
        return {}
    outcomes = {}
    calls = []
    for invocation in invocations:
        registration = invocation.registration = _registration_of(invocation)
        if not _same_organization(invocation):
            # Tenancy is re-checked at call time: a row pointing across organizations is never called.
            outcomes[invocation.pk] = (False, None, "organization mismatch", None, 0)
            invocation.attempts = invocation.max_attempts
        elif not registration.enabled:
            outcomes[invocation.pk] = (False, None, "plugin disabled", None, 0)
            invocation.attempts = invocation.max_attempts  # no point retrying
        elif registration.handler:
            outcomes[invocation.pk] = _timed(_handler_call, invocation, registration)
        else:
            calls.append((invocation, registration, request_prepare(invocation, registration)))
    if len(calls) == 1:
        invocation, registration, prepared = calls[0]
        outcomes[invocation.pk] = _timed(request_send, registration, prepared)
    elif calls:
        pool = _call_pool()
        futures = {inv.pk: pool.submit(_timed, request_send, reg, prepared) for inv, reg, prepared in calls}
        outcomes.update({pk: future.result() for pk, future in futures.items()})
    return _outcomes_record(
        [(invocation, *outcomes[invocation.pk]) for invocation in invocations],
    )


def _claim(invocation_ids: list, now) -> list:
    """Mark the due ones among these invocations `running` (attempts + 1) and return their ids
    (other databases than PostgreSQL: `_claim_and_load` there). Rows another worker holds are
    skipped (SKIP LOCKED) and a redelivered task claims nothing."""
    due_by = now + timedelta(seconds=1)
    due = PluginInvocation.objects.filter(pk__in=invocation_ids, status__in=[Status.PENDING, Status.RETRYING])
    due = due.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=due_by))
    with transaction.atomic():
        claimed = list(due.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True))
        if claimed:
            PluginInvocation.objects.filter(pk__in=claimed).update(
                status=Status.RUNNING, attempts=F("attempts") + 1, claimed_at=now
            )
    return claimed


_DUE = "status IN (%s, %s) AND (next_attempt_at IS NULL OR next_attempt_at <= %s)"


def _claim_and_load(invocation_ids: list, now) -> list[PluginInvocation]:
    """PostgreSQL: claim and load in one statement — the claiming UPDATE (due rows only, SKIP LOCKED:
    a redelivered task claims nothing) in a CTE whose rows are joined to their event's message for
    the tenancy re-check. A task of one call paid four round trips for a locking SELECT and an
    UPDATE, then one more for the load."""
    if not invocation_ids:
        return []
    quote = connection.ops.quote_name
    table = quote(PluginInvocation._meta.db_table)
    inbound = quote(PluginInvocation._meta.get_field("inbound_message").related_model._meta.db_table)
    outbound = quote(PluginInvocation._meta.get_field("outbound_message").related_model._meta.db_table)
    ids = ", ".join(["%s::uuid"] * len(invocation_ids))
    sql = (
        f"WITH claimed AS (UPDATE {table} SET status = %s, attempts = attempts + 1, claimed_at = %s "  # noqa: S608
        f"WHERE id IN (SELECT id FROM {table} WHERE id IN ({ids}) AND {_DUE} FOR UPDATE SKIP LOCKED) "
        "RETURNING *) "
        "SELECT i.*, m.organization_id AS inbound_org, o.organization_id AS outbound_org FROM claimed i "
        f"LEFT JOIN {inbound} m ON m.id = i.inbound_message_id LEFT JOIN {outbound} o ON o.id = i.outbound_message_id"
    )
    due_by = now + timedelta(seconds=1)
    params = [Status.RUNNING, now, *[str(i) for i in invocation_ids], Status.PENDING, Status.RETRYING, due_by]
    return rows_as(PluginInvocation, sql, params)


def _claimed_load(ids: list) -> list[PluginInvocation]:
    """The claimed invocations, each with the organization of its event's message (`inbound_org`,
    `outbound_org`) for the tenancy re-check. Written out: compiling the ORM's form of this join was
    half the CPU of a task with one invocation."""

    def table_of(model) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    table = table_of(PluginInvocation)
    inbound = table_of(PluginInvocation._meta.get_field("inbound_message").related_model)
    outbound = table_of(PluginInvocation._meta.get_field("outbound_message").related_model)
    return rows_as(
        PluginInvocation,
        f"SELECT i.*, m.organization_id AS inbound_org, o.organization_id AS outbound_org "  # noqa: S608
        f"FROM {table} i LEFT JOIN {inbound} m ON m.id = i.inbound_message_id "
        f"LEFT JOIN {outbound} o ON o.id = i.outbound_message_id "
        f"WHERE i.id IN ({', '.join(['%s'] * len(ids))})",
        [PluginInvocation._meta.pk.get_db_prep_value(i, connection) for i in ids],  # SQLite: hex
    )


def _registration_of(invocation: PluginInvocation) -> PluginRegistration:
    """The invocation's registration: from the organization's enabled ones (kept per process, see
    `registrations_enabled`), else read (disabled: the outcome records why it is not called)."""
    for registration in registrations_enabled(organization_id=invocation.organization_id):
        if registration.pk == invocation.registration_id:
            return registration
    return PluginRegistration.objects.get(pk=invocation.registration_id)


def _call_pool() -> ThreadPoolExecutor:
    """The threads that make a chunk's HTTP calls: one pool per process, not one per chunk (starting
    threads for every chunk cost more than the calls' own request building)."""
    return per_process(
        "plugin-call-threads", lambda: ThreadPoolExecutor(max_workers=CALL_THREADS, thread_name_prefix="plugin-call")
    )


def _timed(func, *args):
    started = time.monotonic()
    ok, code, error, retry_after = func(*args)
    return ok, code, error, retry_after, int((time.monotonic() - started) * 1000)


def _same_organization(invocation: PluginInvocation) -> bool:
    """The plugin, the event's message and the invocation belong to one organization (read in the same query)."""
    org = invocation.organization_id
    if invocation.registration.organization_id != org:
        return False
    # The raw query's extra columns come unconverted (SQLite: hex text): compare as UUIDs.
    if invocation.inbound_message_id is not None and _as_uuid(invocation.inbound_org) != org:
        return False
    return invocation.outbound_message_id is None or _as_uuid(invocation.outbound_org) == org


def _as_uuid(value) -> uuid.UUID | None:
    return value if value is None or isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _handler_call(invocation: PluginInvocation, registration: PluginRegistration):
    """One try of a built-in handler: (succeeded, HTTP status, error, Retry-After seconds)."""
    try:
        handler_resolve(registration.handler)(payload=invocation.payload, invocation=invocation)
    except Exception as exc:  # noqa: BLE001 — a plugin's failure is recorded and retried, never raised
        return False, None, f"handler raised {type(exc).__name__}", None
    return True, None, "", None


def _outcomes_record(results: list[tuple]) -> dict[str, float]:
    """Record the attempts of a chunk: (invocation, ok, status code, error, Retry-After, ms) each.

    Succeeded → `succeeded`; failed with attempts left → `retrying` (backoff + jitter, at least
    Retry-After); else `failed`. Written in one statement, each row only while still `running`
    (ours). Returns {id: countdown} for those to retry.
    """
    now = timezone.now()
    rows, countdowns, finished = [], {}, []
    for invocation, ok, code, error, retry_after, duration_ms in results:
        if code == 410:
            # Standard Webhooks: 410 Gone means the endpoint is gone for good — stop calling it.
            PluginRegistration.objects.filter(pk=invocation.registration_id).update(enabled=False)
            local_caches_clear()
            invocation.attempts = invocation.max_attempts
            error = "HTTP 410: plugin disabled"
            logger.warning("plugin answered 410 Gone; disabled", extra={"plugin": str(invocation.registration_id)})
        attempt = {"at": now.isoformat(), "attempt": invocation.attempts, "statusCode": code, "error": error}
        log = (invocation.attempt_log or [])[-19:] + [{**attempt, "ms": duration_ms}]
        next_attempt_at = finished_at = None
        if ok:
            status, finished_at = Status.SUCCEEDED, now
        elif invocation.attempts < invocation.max_attempts:
            countdown = max(
                backoff(
                    invocation.attempts - 1,
                    base=settings.SMSPORTAL_PLUGIN_RETRY_BASE_SECONDS,
                    cap=settings.SMSPORTAL_PLUGIN_RETRY_MAX_SECONDS,
                ),
                retry_after or 0.0,
            )
            status, next_attempt_at = Status.RETRYING, now + timedelta(seconds=countdown)
            countdowns[str(invocation.pk)] = countdown
        else:
            status, finished_at = Status.FAILED, now
        rows.append((invocation, status, code, error[:300], duration_ms, log, next_attempt_at, finished_at))
        if status != Status.RETRYING:
            finished.append((invocation, status, code, error))
    _outcome_rows_save(rows, now)
    for invocation, status, _code, _error in finished:
        logger.info(
            "plugin invocation finished",
            extra={"invocation": str(invocation.id), "status": status, "attempts": invocation.attempts},
        )
    live.publish_many(
        [_outcome_event(inv, status=status, code=code, error=error) for inv, status, code, error in finished]
    )
    return countdowns


def _outcome_rows_save(rows: list[tuple], now) -> None:
    """One UPDATE … FROM (VALUES …) on PostgreSQL (one UPDATE per row compiled through the ORM was
    a fifth of a plugin call's CPU); row by row elsewhere."""
    if connection.vendor != "postgresql":
        for invocation, status, code, error, duration_ms, log, next_attempt_at, finished_at in rows:
            PluginInvocation.objects.filter(pk=invocation.pk, status=Status.RUNNING).update(
                status=status,
                last_status_code=code,
                last_error=error,
                last_duration_ms=duration_ms,
                attempt_log=log,
                next_attempt_at=next_attempt_at,
                finished_at=finished_at,
                updated_at=now,
            )
        return
    table = connection.ops.quote_name(PluginInvocation._meta.db_table)
    types = ("uuid", "varchar", "integer", "varchar", "integer", "jsonb", "timestamptz", "timestamptz")
    row = "(" + ", ".join(f"%s::{t}" for t in types) + ")"
    params: list = [now]
    for invocation, status, code, error, duration_ms, log, next_attempt_at, finished_at in rows:
        params += [str(invocation.pk), status, code, error, duration_ms, json.dumps(log), next_attempt_at, finished_at]
    params.append(Status.RUNNING)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS i SET updated_at = %s, status = v.status, last_status_code = v.code, "  # noqa: S608
            "last_error = v.error, last_duration_ms = v.ms, attempt_log = v.log, "
            "next_attempt_at = v.next_at, finished_at = v.finished_at "
            f"FROM (VALUES {', '.join([row] * len(rows))}) "
            "AS v(id, status, code, error, ms, log, next_at, finished_at) "
            "WHERE i.id = v.id AND i.status = %s",
            params,
        )


def _outcome_event(invocation: PluginInvocation, *, status: str, code, error: str) -> tuple:
    """The `plugin.invocation` live event of a finished invocation."""
    return (
        invocation.organization_id,
        "plugin.invocation",
        {
            "id": str(invocation.id),
            "plugin": invocation.registration.name,
            "action": invocation.action,
            "status": status,
            "attempts": invocation.attempts,
            "statusCode": code,
            "error": error,
            "inboundMessageId": str(invocation.inbound_message_id) if invocation.inbound_message_id else None,
            "outboundMessageId": str(invocation.outbound_message_id) if invocation.outbound_message_id else None,
        },
    )


def invocations_recover() -> tuple[int, list]:
    """Reset invocations whose worker died mid-call; return (how many, the ids of due invocations
    whose task was lost). `plugins_sweep_task` (beat) enqueues those."""
    now = timezone.now()
    grace = timedelta(seconds=settings.SMSPORTAL_PLUGIN_SWEEP_GRACE_SECONDS)
    # A worker killed during the call: the plugin may have it; retrying is safe because the
    # webhook-id is the same (plugins dedupe on it).
    stuck = PluginInvocation.objects.filter(status=Status.RUNNING, claimed_at__lt=now - grace)
    reset = stuck.update(status=Status.RETRYING, next_attempt_at=now)
    lost = Q(status__in=[Status.PENDING, Status.RETRYING], updated_at__lt=now - grace) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lt=now - grace)
    )
    if settings.CELERY_TASK_ALWAYS_EAGER:
        # Eager mode has no countdown retry pending outside `make run`'s timer (smsportal/eager.py), or
        # after the dev server restarted: this sweep runs a due retry then, so it needs no lost-task grace.
        lost |= Q(status=Status.RETRYING, next_attempt_at__lte=now)
    return reset, list(PluginInvocation.objects.filter(lost).values_list("id", flat=True)[:1000])
