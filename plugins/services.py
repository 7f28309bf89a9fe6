"""Plugins: registrations, and invocations — one recorded, signed, retried call per plugin per event.

`plugins_invoke` creates one PluginInvocation row per matching registration inside the caller's
transaction and enqueues `plugin_invocation_run_task` after commit. `plugin_invocation_run` claims
the row with one conditional UPDATE (a redelivered task is harmless), calls the plugin outside any
transaction, and records the outcome: succeeded, retrying (backoff + jitter) or failed.
"""

import base64
import hashlib
import hmac
import importlib
import ipaddress
import json
import logging
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from urllib.parse import urlsplit
from urllib.request import getproxies

import requests
import urllib3
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from gateways.providers.httpbase import http_pool, per_process
from gateways.urlsafety import SafeHTTPAdapter, UnsafeUrlError, address_is_public, url_check
from plugins.models import ENTITY_TYPES, PluginAction, PluginInvocation, PluginRegistration
from plugins.payload import incoming_sms_payload, new_trace_id, sms_status_payload, traceparent
from plugins.signing import plugin_token
from smsportal.localcache import LocalCache, local_caches_clear

logger = logging.getLogger(__name__)
Status = PluginInvocation.Status

# Built-in plugins live in the project's own apps; a handler path outside them is refused, so the
# API cannot be used to import arbitrary modules.
HANDLER_PACKAGES = ("plugins.", "adherence.", "portal.", "messaging.", "entities.")
MAX_RESPONSE_BYTES = 64 * 1024
USER_AGENT = "smsportal-plugins/1.0"


# ---------------------------------------------------------------------------------------------
# Registrations


def registration_validate(*, url: str, handler: str, entity_types, actions) -> None:
    """Raise ValueError("<field>: <problem>") for an invalid registration."""
    if bool(url) == bool(handler):
        raise ValueError("url: give exactly one of url (a webhook) or handler (a built-in plugin)")
    if url:
        try:
            plugin_url_check(url, resolve=False)
        except UnsafeUrlError as exc:
            raise ValueError(f"url: {exc}")
    if handler:
        try:
            handler_resolve(handler)
        except ValueError as exc:
            raise ValueError(f"handler: {exc}")
    if not isinstance(entity_types, list) or not entity_types:
        raise ValueError(f"entityTypes: a non-empty list of {', '.join(ENTITY_TYPES)}")
    bad = [t for t in entity_types if t not in ENTITY_TYPES]
    if bad:
        raise ValueError(f"entityTypes: unknown entity type {bad[0]!r}; one of {', '.join(ENTITY_TYPES)}")
    if not isinstance(actions, list) or not actions:
        raise ValueError(f"actions: a non-empty list of {', '.join(PluginAction.values)}")
    bad = [a for a in actions if a not in PluginAction.values]
    if bad:
        raise ValueError(f"actions: unknown action {bad[0]!r}; one of {', '.join(PluginAction.values)}")


def plugin_url_check(url: str, *, resolve: bool = True) -> None:
    """The gateways' private-address rule, plus https (plain http only where private URLs are allowed).

    Saving checks the URL without DNS (a literal private address or `localhost` is refused); each
    call resolves the host and the transport checks the address it actually connected to.
    """
    url_check(url, resolve=resolve)
    if settings.SMSPORTAL_ALLOW_PRIVATE_URLS:
        return
    if not url.lower().startswith("https://"):
        raise UnsafeUrlError("must be an https:// URL")
    host = (urlsplit(url).hostname or "").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        raise UnsafeUrlError("must not point at a private, loopback or link-local address")
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return
    if not address_is_public(str(literal)):
        raise UnsafeUrlError("must not point at a private, loopback or link-local address")


def handler_resolve(path: str):
    """The built-in plugin callable at a dotted path; it must be marked with @builtin_plugin."""
    module_name, _, attr = path.rpartition(".")
    if not module_name or not path.startswith(HANDLER_PACKAGES):
        raise ValueError(f"a dotted path inside {', '.join(p.rstrip('.') for p in HANDLER_PACKAGES)}")
    try:
        func = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError):
        raise ValueError(f"{path!r} cannot be imported")
    if not getattr(func, "smsportal_plugin", False):
        raise ValueError(f"{path!r} is not a built-in plugin (decorate it with plugins.builtin.builtin_plugin)")
    return func


@transaction.atomic
def registration_create(*, organization, **fields) -> tuple[PluginRegistration, str]:
    """A new registration; returns it and its webhook secret (shown once; empty for handlers)."""
    registration_validate(
        url=fields.get("url", ""),
        handler=fields.get("handler", ""),
        entity_types=fields.get("entity_types"),
        actions=fields.get("actions"),
    )
    given = fields.pop("webhook_secret", None)  # BioT: an endpoint's subscriptions share one secret
    secret = (given or PluginRegistration.new_webhook_secret()) if fields.get("url") else ""
    try:
        with transaction.atomic():
            registration = PluginRegistration.objects.create(organization=organization, webhook_secret=secret, **fields)
    except IntegrityError:
        raise ValueError("name: a plugin with this name already exists")
    return registration, secret


@transaction.atomic
def registration_update(*, registration: PluginRegistration, **fields) -> PluginRegistration:
    for key, value in fields.items():
        setattr(registration, key, value)
    registration_validate(
        url=registration.url,
        handler=registration.handler,
        entity_types=registration.entity_types,
        actions=registration.actions,
    )
    if registration.url and not registration.webhook_secret:
        registration.webhook_secret = PluginRegistration.new_webhook_secret()
    if registration.handler:
        registration.webhook_secret = ""
    try:
        with transaction.atomic():
            registration.save()
    except IntegrityError:
        raise ValueError("name: a plugin with this name already exists")
    return registration


@transaction.atomic
def registration_rotate_secret(*, registration: PluginRegistration) -> str:
    """A new webhook secret for a webhook plugin, returned once; the old one stops verifying at once.

    A BioT endpoint's subscriptions share one secret, so they all get the new one.
    """
    if not registration.url:
        raise ValueError("handler: a built-in plugin has no webhook secret")
    secret = PluginRegistration.new_webhook_secret()
    same_endpoint = PluginRegistration.objects.select_for_update().filter(pk=registration.pk)
    if registration.source == PluginRegistration.Source.BIOT:
        same_endpoint = PluginRegistration.objects.select_for_update().filter(
            organization_id=registration.organization_id, source=registration.source, url=registration.url
        )
    for each in same_endpoint:
        each.webhook_secret = secret
        each.save(update_fields=["webhook_secret", "updated_at"])  # saving clears the per-process caches
    registration.webhook_secret = secret
    return secret


def biot_subscription_name(endpoint: str, entity_type: str, action: str) -> str:
    """The registration of one BioT subscription: (endpoint, entity type, action)."""
    return f"biot-{hashlib.sha256(endpoint.encode()).hexdigest()[:12]}-{entity_type}-{action}"


@transaction.atomic
def biot_subscribe(*, organization, entity_type: str, action: str, endpoint: str) -> tuple[PluginRegistration, str]:
    """BioT's subscribe call: one registration per (endpoint, entity type, action), as in BioT where
    each subscription is its own, so an endpoint gets exactly the pairs it subscribed to. A repeated
    call changes nothing. The endpoint's webhook secret is shared by its subscriptions and returned
    only with the first (empty afterwards)."""
    name = biot_subscription_name(endpoint, entity_type, action)
    existing = PluginRegistration.objects.select_for_update().filter(organization=organization, name=name).first()
    if existing is not None:
        if not existing.enabled:  # subscribed again after an unsubscribe
            existing.enabled = True
            existing.save(update_fields=["enabled", "updated_at"])  # saving clears the per-process caches
        return existing, ""
    sibling = (
        PluginRegistration.objects.filter(
            organization=organization, source=PluginRegistration.Source.BIOT, url=endpoint
        )
        .order_by("created_at")
        .first()
    )
    registration, secret = registration_create(
        organization=organization,
        name=name,
        url=endpoint,
        entity_types=[entity_type],
        actions=[action],
        source=PluginRegistration.Source.BIOT,
        webhook_secret=sibling.webhook_secret if sibling is not None else None,
    )
    return registration, "" if sibling is not None else secret


@transaction.atomic
def biot_unsubscribe(*, organization, entity_type: str, action: str, endpoint: str) -> bool:
    """End that one subscription; the endpoint's others stay. False when there is no such subscription.

    The registration is disabled, not deleted: its invocations stay on record (what was sent to
    whom, and when), and calls still pending are recorded as not made."""
    name = biot_subscription_name(endpoint, entity_type, action)
    registration = (
        PluginRegistration.objects.select_for_update()
        .filter(organization=organization, name=name, enabled=True)
        .first()
    )
    if registration is None:
        return False
    registration.enabled = False
    registration.save(update_fields=["enabled", "updated_at"])  # saving clears the per-process caches
    return True


# ---------------------------------------------------------------------------------------------
# Invocations


_enabled_registrations = LocalCache("plugin-registrations")


def registrations_enabled(*, organization_id) -> list[PluginRegistration]:
    """The organization's enabled registrations, kept per process for SMSPORTAL_LOCAL_CACHE_SECONDS
    (smsportal/localcache.py: saving or deleting a registration clears it). Keyed and filtered by
    the organization, so one organization never sees another's. Treat as read-only."""
    return _enabled_registrations.get_or_load(
        str(organization_id),
        lambda: list(PluginRegistration.objects.filter(organization_id=organization_id, enabled=True)),
    )


def registrations_for(*, organization, action: str, entity_type: str | None, names: list[str] | None = None):
    """Enabled registrations of the organization for an action and entity type (filtered in Python:
    JSON containment is not portable to SQLite, and an organization has few plugins)."""
    return _matching(
        registrations_enabled(organization_id=organization.pk),
        action=action,
        entity_type=entity_type,
        names=names,
    )


def _matching(registrations, *, action: str, entity_type: str | None, names: list[str] | None):
    return [
        r
        for r in registrations
        if r.enabled
        and action in (r.actions or [])
        and (entity_type is None or entity_type in (r.entity_types or []))
        and (names is None or r.name in names)
    ]


def invocations_for_incoming(*, message, entity, registrations, names: list[str] | None = None) -> list:
    """Unsaved invocations (payload built once) of the matching registrations for a matched reply."""
    invocations = []
    for registration in _matching(
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


def plugins_invoke_incoming(*, message, entity, names: list[str] | None = None) -> list[PluginInvocation]:
    """One invocation per matching registration for a matched inbound message. Call inside a transaction."""
    registrations = PluginRegistration.objects.filter(organization_id=message.organization_id, enabled=True)
    return invocations_save(
        invocations_for_incoming(message=message, entity=entity, registrations=list(registrations), names=names)
    )


def plugins_invoke_status(*, message, previous_status: str) -> list[PluginInvocation]:
    """`_smsStatus` calls for a delivery status change of an outbound message."""
    from entities.selectors import contacts_get_by_phone

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


RUN_CHUNK = 16  # invocations per task
CALL_THREADS = 8  # concurrent HTTP calls within one task


def invocations_save(invocations: list[PluginInvocation]) -> list[PluginInvocation]:
    from plugins.tasks import plugin_invocations_run_task

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
        plugin_invocations_run_task.delay_on_commit(ids[start : start + RUN_CHUNK])
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


def _backoff(attempt: int) -> float:
    """Exponential backoff with jitter: base·2^(attempt-1), scaled by 0.5–1.0, capped."""
    base = settings.SMSPORTAL_PLUGIN_RETRY_BASE_SECONDS
    return min(settings.SMSPORTAL_PLUGIN_RETRY_MAX_SECONDS, base * 2 ** max(0, attempt - 1)) * random.uniform(0.5, 1.0)


def plugin_invocation_run(*, invocation_id: str) -> float | None:
    """Run one attempt. Returns the countdown for the next attempt, or None when done (or not ours)."""
    return plugin_invocations_run(invocation_ids=[invocation_id]).get(str(invocation_id))


def plugin_invocations_run(*, invocation_ids: list) -> dict[str, float]:
    """One attempt of each claimable invocation; webhook calls run concurrently (no DB access in
    the threads), built-in handlers in this thread. Returns {id: countdown} for those to retry."""
    now = timezone.now()
    claimed = _claim(invocation_ids, now)
    if not claimed:
        return {}
    invocations = _claimed_load(claimed)
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
            outcomes[invocation.pk] = _timed(_attempt, invocation, registration)
        else:
            calls.append((invocation, registration, _http_prepare(invocation, registration)))
    if len(calls) == 1:
        invocation, registration, prepared = calls[0]
        outcomes[invocation.pk] = _timed(_http_send, registration, prepared)
    elif calls:
        pool = _call_pool()
        futures = {inv.pk: pool.submit(_timed, _http_send, reg, prepared) for inv, reg, prepared in calls}
        outcomes.update({pk: future.result() for pk, future in futures.items()})
    return _outcomes_record(
        [(invocation, *outcomes[invocation.pk]) for invocation in invocations],
    )


def _claim(invocation_ids: list, now) -> list:
    """Mark the due ones among these invocations `running` (attempts + 1) and return their ids.

    Rows another worker holds are skipped (SKIP LOCKED) and a redelivered task claims nothing. On
    PostgreSQL one statement (UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING),
    instead of a transaction with a locking SELECT and an UPDATE: a task per reply at low rates
    paid four round trips for it.
    """
    due_by = now + timedelta(seconds=1)
    if connection.vendor != "postgresql":
        due = PluginInvocation.objects.filter(pk__in=invocation_ids, status__in=[Status.PENDING, Status.RETRYING])
        due = due.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=due_by))
        with transaction.atomic():
            claimed = list(due.select_for_update(skip_locked=True, of=("self",)).values_list("pk", flat=True))
            if claimed:
                PluginInvocation.objects.filter(pk__in=claimed).update(
                    status=Status.RUNNING, attempts=F("attempts") + 1, claimed_at=now
                )
        return claimed
    if not invocation_ids:
        return []
    table = connection.ops.quote_name(PluginInvocation._meta.db_table)
    ids = ", ".join(["%s::uuid"] * len(invocation_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET status = %s, attempts = attempts + 1, claimed_at = %s "  # noqa: S608
            f"WHERE id IN (SELECT id FROM {table} WHERE id IN ({ids}) AND status IN (%s, %s) "
            "AND (next_attempt_at IS NULL OR next_attempt_at <= %s) FOR UPDATE SKIP LOCKED) RETURNING id",
            [Status.RUNNING, now, *[str(i) for i in invocation_ids], Status.PENDING, Status.RETRYING, due_by],
        )
        return [row[0] for row in cursor.fetchall()]


def _claimed_load(ids: list) -> list[PluginInvocation]:
    """The claimed invocations, each with the organization of its event's message (`inbound_org`,
    `outbound_org`) for the tenancy re-check. Written out: compiling the ORM's form of this join was
    half the CPU of a task with one invocation."""

    def table_of(model) -> str:
        return connection.ops.quote_name(model._meta.db_table)

    table = table_of(PluginInvocation)
    inbound = table_of(PluginInvocation._meta.get_field("inbound_message").related_model)
    outbound = table_of(PluginInvocation._meta.get_field("outbound_message").related_model)
    return list(
        PluginInvocation.objects.raw(
            f"SELECT i.*, m.organization_id AS inbound_org, o.organization_id AS outbound_org "  # noqa: S608
            f"FROM {table} i LEFT JOIN {inbound} m ON m.id = i.inbound_message_id "
            f"LEFT JOIN {outbound} o ON o.id = i.outbound_message_id "
            f"WHERE i.id IN ({', '.join(['%s'] * len(ids))})",
            [PluginInvocation._meta.pk.get_db_prep_value(i, connection) for i in ids],  # SQLite: hex
        )
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


def _attempt(invocation: PluginInvocation, registration: PluginRegistration):
    """One try: (succeeded, HTTP status, error, Retry-After seconds)."""
    if registration.handler:
        try:
            handler_resolve(registration.handler)(payload=invocation.payload, invocation=invocation)
        except Exception as exc:  # noqa: BLE001 — a plugin's failure is recorded and retried, never raised
            return False, None, f"handler raised {type(exc).__name__}", None
        return True, None, "", None
    return _http_call(invocation, registration)


_session: requests.Session | None = None
_proxy_settings: dict[str, str] | None = None


def _proxies() -> dict[str, str]:
    """HTTP(S)_PROXY, read once per process (an environment lookup per call was a large share of
    a call's CPU). NO_PROXY is not read."""
    global _proxy_settings
    if _proxy_settings is None:
        _proxy_settings = {k: v for k, v in getproxies().items() if k in ("http", "https")}
    return _proxy_settings


def _http() -> requests.Session:
    """The session for calls through a proxy."""
    global _session
    if _session is None:
        _session = requests.Session()
        _session.headers["User-Agent"] = USER_AGENT
        _session.trust_env = False
        _session.proxies.update(_proxies())
        # Checks the address actually connected to (DNS rebinding after the URL was checked).
        _session.mount("http://", SafeHTTPAdapter())
        _session.mount("https://", SafeHTTPAdapter())
    return _session


def request_build(invocation: PluginInvocation, registration: PluginRegistration) -> tuple[bytes, dict]:
    """The exact body and headers of one attempt: seed 001's payload + a fresh JWT, Standard Webhooks headers."""
    webhook_id = invocation.idempotency_key
    token = plugin_token(
        registration=registration,
        organization_id=invocation.organization_id,
        payload_without_jwt=invocation.payload,
        jti=f"{webhook_id}.{invocation.attempts}",
    )
    body = json.dumps({**invocation.payload, "jwt": token}, ensure_ascii=False).encode()
    timestamp = str(int(time.time()))
    trace = invocation.payload.get("metadata", {}).get("traceId") or traceparent(new_trace_id(), invocation.id.hex[:16])
    headers = {
        "Content-Type": "application/json",
        "webhook-id": webhook_id,
        "webhook-timestamp": timestamp,
        "Idempotency-Key": webhook_id,
        "traceparent": trace,
    }
    if registration.webhook_secret:
        key = base64.b64decode(registration.webhook_secret.removeprefix("whsec_"))
        signed = f"{webhook_id}.{timestamp}.".encode() + body
        headers["webhook-signature"] = "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return body, headers


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the delta form; an HTTP date is ignored), bounded by the backoff cap."""
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    if seconds is None or seconds < 0:
        return None
    return min(seconds, settings.SMSPORTAL_PLUGIN_RETRY_MAX_SECONDS)


def _http_call(invocation: PluginInvocation, registration: PluginRegistration):
    return _http_send(registration, _http_prepare(invocation, registration))


def _http_prepare(invocation: PluginInvocation, registration: PluginRegistration):
    """The request of one attempt (reads the signing key: DB), or the refusal; sent by `_http_send`."""
    try:
        plugin_url_check(registration.url)
    except UnsafeUrlError as exc:
        return (False, None, f"url refused: {exc}", None)
    return request_build(invocation, registration)


def _http_send(registration: PluginRegistration, prepared):
    """POST a prepared request; touches no database, so it may run in a thread."""
    if len(prepared) == 4:
        return prepared  # refused before sending
    body, headers = prepared
    timeout = float(registration.timeout_seconds or settings.SMSPORTAL_HTTP_TIMEOUT)
    if _proxies():
        return _http_send_proxied(registration, body, headers, timeout)

    def post():
        # urllib3 directly (the pool of gateways.providers.httpbase: per process, kept-alive
        # connections, the connected address checked): requests cost twice the CPU per call.
        return http_pool().urlopen(
            "POST",
            registration.url,
            body=body,
            headers={"User-Agent": USER_AGENT, **headers},
            timeout=urllib3.Timeout(connect=min(5.0, timeout), read=timeout),
            retries=False,
            redirect=False,  # a redirect is a failure (Standard Webhooks; SSRF)
            preload_content=False,
        )

    try:
        try:
            response = post()
        except ProtocolError:
            # A kept-alive connection the plugin closed meanwhile: once more on a new one (the
            # same webhook-id, so a plugin that did get the first copy dedupes it).
            response = post()
    except (NewConnectionError, NameResolutionError, ProtocolError):  # before: a subclass of ConnectTimeoutError
        return False, None, "connection failed", None
    except (ConnectTimeoutError, ReadTimeoutError):
        return False, None, "timed out", None
    except (HTTPError, OSError, UnsafeUrlError) as exc:
        return False, None, f"request failed ({type(exc).__name__})", None
    try:
        # Untrusted answer: read at most 64 KiB and keep none of it.
        response.read(MAX_RESPONSE_BYTES, decode_content=False)
    except Exception:  # noqa: BLE001,S110 — the status code is the outcome
        pass
    finally:
        if response.length_remaining:
            response.close()  # an unread rest: the connection is not reused
        response.release_conn()
    return _http_outcome(response.status, response.headers.get("Retry-After"))


def _http_outcome(status: int, retry_after_header: str | None):
    if 200 <= status < 300:
        return True, status, "", None
    retry_after = _retry_after(retry_after_header) if status in (429, 503) else None
    return False, status, f"HTTP {status}", retry_after


def _http_send_proxied(registration: PluginRegistration, body: bytes, headers: dict, timeout: float):
    """The same call through the configured HTTP(S)_PROXY (requests' proxy support)."""
    try:
        response = _http().post(
            registration.url,
            data=body,
            headers=headers,
            timeout=(min(5.0, timeout), timeout),
            allow_redirects=False,  # a redirect is a failure (Standard Webhooks; SSRF)
            stream=True,
        )
    except requests.Timeout:
        return False, None, "timed out", None
    except requests.ConnectionError:
        return False, None, "connection failed", None
    except (requests.RequestException, UnsafeUrlError) as exc:
        return False, None, f"request failed ({type(exc).__name__})", None
    try:
        response.raw.read(MAX_RESPONSE_BYTES, decode_content=False)
    except Exception:  # noqa: BLE001,S110 — the status code is the outcome
        pass
    finally:
        response.close()
    return _http_outcome(response.status_code, response.headers.get("Retry-After"))


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
            countdown = max(_backoff(invocation.attempts), retry_after or 0.0)
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
    from messaging.live import publish_many

    publish_many([_outcome_event(inv, status=status, code=code, error=error) for inv, status, code, error in finished])
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


def invocation_retry_now(*, invocation: PluginInvocation) -> bool:
    """Admin/API "retry now": a failed or waiting invocation gets one more attempt immediately."""
    from plugins.tasks import plugin_invocation_run_task

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
            plugin_invocation_run_task.delay_on_commit(str(invocation.pk))
    return bool(updated)


def plugins_sweep() -> dict[str, int]:
    """Recover invocations whose task was lost or whose worker died mid-call. Run by beat."""
    from plugins.tasks import plugin_invocation_run_task

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
        # Eager mode (`make run`) queues no countdown retry: it runs inline at once, finds the row not
        # yet due and ends. This sweep is what runs a due retry, so it needs no lost-task grace.
        lost |= Q(status=Status.RETRYING, next_attempt_at__lte=now)
    due = list(PluginInvocation.objects.filter(lost).values_list("id", flat=True)[:1000])
    for invocation_id in due:
        plugin_invocation_run_task.delay(str(invocation_id))
    return {"reset": reset, "requeued": len(due)}
