"""Plugin invocations: one recorded call per matching registration per event.

`invocations_for_incoming` / `plugins_invoke_status` build one PluginInvocation per matching
registration; `invocations_save` inserts them inside the caller's transaction and enqueues
`plugin_invocations_run_task` after commit (plugins/runner.py makes the calls).
"""

from django.db import connection, transaction
from django.db.models import F

from entities.selectors import contacts_get_by_phone
from plugins.choices import PluginAction
from plugins.models import PluginInvocation
from plugins.payload import consent_changed_additional, entity_event_payload, incoming_sms_payload, sms_status_payload
from plugins.registrations import registrations_for, registrations_matching
from smsportal.enqueue import enqueue_on_commit
from smsportal.tracing import new_trace_id

Status = PluginInvocation.Status
RUN_CHUNK = 16  # invocations per task
# Enqueued by name (smsportal/enqueue.py): plugins/tasks.py runs plugins/runner.py, not this module.
RUN_TASK = "plugins.tasks.plugin_invocation_run_task"
RUN_CHUNK_TASK = "plugins.tasks.plugin_invocations_run_task"


def invocations_for_incoming(*, message, entity, registrations, names: list[str] | None = None) -> list:
    """Unsaved invocations (payload built once) of the matching registrations for a matched reply."""
    invocations = []
    for registration in registrations_matching(
        registrations, action=PluginAction.INCOMING_SMS, entity_type=entity.entity_type, names=names
    ):
        invocation = PluginInvocation(
            organization_id=message.organization_id,
            registration=registration,
            action=PluginAction.INCOMING_SMS,
            event_key=f"{PluginAction.INCOMING_SMS}:{message.id}",
            inbound_message=message,
            entity_type=entity.entity_type,
            max_attempts=registration.max_attempts,
        )
        invocation.payload = incoming_sms_payload(message=message, entity=entity, span_id=invocation.id.hex[:16])
        invocations.append(invocation)
    return invocations


def plugins_invoke_status(*, message, previous_status: str) -> list[PluginInvocation]:
    """`_smsStatus` calls for a delivery status change of an outbound message."""
    registrations = registrations_for(
        organization=message.organization, action=PluginAction.SMS_STATUS, entity_type=None
    )
    if not registrations:
        return []
    found = contacts_get_by_phone(organization=message.organization, phone_number=message.recipient)
    entity = found[0] if len(found) == 1 else None
    trace_id = new_trace_id()
    invocations = []
    for registration in registrations:
        if entity is not None and entity.entity_type not in registration.entity_types:
            continue
        invocation = PluginInvocation(
            organization_id=message.organization_id,
            registration=registration,
            action=PluginAction.SMS_STATUS,
            event_key=f"{PluginAction.SMS_STATUS}:{message.id}:{message.status}",
            outbound_message=message,
            entity_type=entity.entity_type if entity else "",
            max_attempts=registration.max_attempts,
        )
        invocation.payload = sms_status_payload(
            message=message,
            entity=entity,
            previous_status=previous_status,
            trace_id=trace_id,
            span_id=invocation.id.hex[:16],
        )
        invocations.append(invocation)
    return invocations_save(invocations)


def plugins_invoke_consent(*, record, person, previous_status: str) -> list[PluginInvocation]:
    """`_consentChanged` calls for one consent record (the `consent_changed` signal, sent inside the
    transaction that appended it: the invocations commit or roll back with the record)."""
    return plugins_invoke_entity_event(
        organization=person.organization,
        action=PluginAction.CONSENT_CHANGED,
        entity=person,
        event_key=f"{PluginAction.CONSENT_CHANGED}:{record.id}",
        start=record.created_at,
        additional=consent_changed_additional(record=record, previous_status=previous_status),
        subject_id=record.actor,
    )


def plugins_invoke_entity_event(
    *, organization, action: str, entity, event_key: str, start, additional: dict, subject_id: str | None = None
) -> list[PluginInvocation]:
    """One call per registration of `action` serving the entity's type, for an event about a person
    (`_consentChanged`, `_followUpOpened`). Call inside the transaction that records the event: the
    calls go on commit."""
    registrations = registrations_for(organization=organization, action=action, entity_type=entity.entity_type)
    if not registrations:
        return []
    trace_id = new_trace_id()
    invocations = []
    for registration in registrations:
        invocation = PluginInvocation(
            organization_id=organization.pk,
            registration=registration,
            action=action,
            event_key=event_key,
            entity_type=entity.entity_type,
            max_attempts=registration.max_attempts,
        )
        invocation.payload = entity_event_payload(
            entity=entity,
            action=action,
            start=start,
            additional=additional,
            subject_id=subject_id,
            trace_id=trace_id,
            span_id=invocation.id.hex[:16],
        )
        invocations.append(invocation)
    return invocations_save(invocations)


def invocations_save(invocations: list[PluginInvocation]) -> list[PluginInvocation]:
    """Insert unsaved invocations and enqueue their runs after commit. Call inside a transaction."""
    if not invocations:
        return []
    # One INSERT; the unique (registration, event) constraint is the backstop against a second
    # invocation for one event (callers route each event once, under a row lock). A row skipped as
    # a duplicate gets a task that finds nothing to claim.
    _insert_ignoring_conflicts(invocations)
    # Several invocations per task (their calls made concurrently): Celery's per-task cost and the
    # per-task queries are paid once per chunk, not once per call.
    ids = [str(invocation.id) for invocation in invocations]
    for start in range(0, len(ids), RUN_CHUNK):
        enqueue_on_commit(RUN_CHUNK_TASK, ids[start : start + RUN_CHUNK])
    return invocations


def _insert_ignoring_conflicts(invocations: list[PluginInvocation]) -> None:
    """bulk_create(ignore_conflicts=True), as one plain multi-row INSERT on PostgreSQL.

    Django 5.2's bulk_create sends one array per column there (INSERT … SELECT * FROM UNNEST), and
    psycopg quotes array elements in Python, character by character for the payload JSON: a fifth
    of routing's CPU. Row values go as ordinary parameters instead (quoted by libpq).
    """
    if connection.vendor != "postgresql":
        PluginInvocation.objects.bulk_create(invocations, ignore_conflicts=True)
        return
    fields = PluginInvocation._meta.concrete_fields
    params = []
    for invocation in invocations:
        params += [f.get_db_prep_save(f.pre_save(invocation, True), connection) for f in fields]
    table = connection.ops.quote_name(PluginInvocation._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(invocations))} "  # noqa: S608
            "ON CONFLICT DO NOTHING",
            params,
        )


def invocation_retry_now(*, invocation: PluginInvocation) -> bool:
    """Admin/API "retry now": a failed or waiting invocation gets one more attempt immediately."""
    with transaction.atomic():
        updated = PluginInvocation.objects.filter(
            pk=invocation.pk, status__in=[Status.FAILED, Status.RETRYING, Status.PENDING]
        ).update(
            status=Status.RETRYING,
            next_attempt_at=None,
            finished_at=None,
            max_attempts=F("attempts") + 1
            if invocation.status == Status.FAILED and invocation.attempts >= invocation.max_attempts
            else F("max_attempts"),
        )
        if updated:
            enqueue_on_commit(RUN_TASK, str(invocation.pk))
    return bool(updated)
