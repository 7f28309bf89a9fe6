"""Plugin registrations: create, update, BioT's subscribe/unsubscribe, and the enabled ones per
organization as the invocation path reads them (kept per process)."""

import hashlib

from django.db import IntegrityError, transaction

from plugins.models import PluginRegistration
from plugins.validation import registration_validate
from smsportal.localcache import LocalCache


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
    return registrations_matching(
        registrations_enabled(organization_id=organization.pk),
        action=action,
        entity_type=entity_type,
        names=names,
    )


def registrations_matching(registrations, *, action: str, entity_type: str | None, names: list[str] | None):
    return [
        r
        for r in registrations
        if r.enabled
        and action in (r.actions or [])
        and (entity_type is None or entity_type in (r.entity_types or []))
        and (names is None or r.name in names)
    ]
