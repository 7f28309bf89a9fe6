"""Gateway services: create/update/delete with validation, default selection, webhook URLs and tokens."""

import logging
import secrets as pysecrets
import uuid
from typing import Any

from django.db import transaction

from entities.models import Organization
from gateways.config import as_bool, as_str, config_representation, config_validate, type_from_name
from gateways.exceptions import ConfigError
from gateways.models import MAX_RATE_PER_SECOND, Gateway, InboundNumber
from gateways.providers import adapter_class, get_adapter
from gateways.receive_countries import inbound_number_warning
from gateways.webhook_url import gateway_webhook_url
from smsportal.localcache import local_caches_clear
from smsportal.phones import InvalidPhoneNumber, country_of, to_e164

logger = logging.getLogger(__name__)


def gateway_representation(gateway: Gateway) -> dict[str, Any]:
    """A gateway as the DHIS2 gateway API shows it: DHIS2 field names, secrets masked, webhook URLs."""
    data: dict[str, Any] = {
        "type": gateway.type,
        "uid": gateway.uid,
        "id": gateway.uid,
        "name": gateway.name,
        "isDefault": gateway.is_default,
        "isActive": gateway.is_active,
        "global": gateway.organization_id is None,
        "maxSmsLength": str(gateway.max_sms_length) if gateway.max_sms_length else None,
        "rateLimitPerSecond": gateway.rate_limit_per_second,
        "senderRateLimitPerSecond": gateway.sender_rate_limit_per_second,
        "fallback": str(gateway.fallback_id) if gateway.fallback_id else None,
        "inboundNumbers": _inbound_numbers_shown(gateway),
        "inboundUrl": gateway_webhook_url(gateway=gateway, kind="inbound"),
        "statusUrl": gateway_webhook_url(gateway=gateway, kind="status"),
        "downUntil": gateway.down_until.isoformat() if gateway.down_until else None,
        "lastPolledAt": gateway.last_polled_at.isoformat() if gateway.last_polled_at else None,
        "lastSuccessAt": gateway.last_success_at.isoformat() if gateway.last_success_at else None,
        "lastErrorAt": gateway.last_error_at.isoformat() if gateway.last_error_at else None,
        "lastError": gateway.last_error or None,
    }
    data.update(config_representation(gateway))
    return data


def gateway_global_representation(gateway: Gateway, *, organization) -> dict[str, Any]:
    """The global default as an organization sees it: what it is and the numbers it sends from
    (its own and the shared ones; not another organization's), not its settings or webhook URLs."""
    return {
        "type": gateway.type,
        "uid": gateway.uid,
        "id": gateway.uid,
        "name": gateway.name,
        "isDefault": True,
        "isActive": gateway.is_active,
        "global": True,
        "readOnly": True,
        "inboundNumbers": _inbound_numbers_shown(gateway, organization_id=organization.pk),
    }


def _rate(value, name: str) -> float | None:
    """A rate limit (messages, or segments where the provider counts them, per second); empty/0 = none."""
    if value in (None, "", 0, "0"):
        return None
    try:
        rate = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number of messages per second", field=name)
    if not 0 < rate <= MAX_RATE_PER_SECOND:
        raise ConfigError(f"{name} must be between 0 and {MAX_RATE_PER_SECOND}", field=name)
    return rate


def _common_fields(*, data: dict, gateway: Gateway, organization) -> tuple[bool | None, list[str] | None]:
    """Apply name, maxSmsLength, isActive, rateLimitPerSecond, fallback; return (isDefault, inboundNumbers)."""
    if "name" in data or gateway._state.adding:
        name = as_str(data.get("name") or "", "name", max_length=100).strip()
        if not name:
            raise ConfigError("name is required", field="name")
        gateway.name = name
    if "maxSmsLength" in data:
        value = data["maxSmsLength"]
        if value in (None, ""):
            gateway.max_sms_length = None
        else:
            try:
                gateway.max_sms_length = int(value)
            except (TypeError, ValueError):
                raise ConfigError("maxSmsLength must be a whole number", field="maxSmsLength")
            if not 1 <= gateway.max_sms_length <= 10000:
                raise ConfigError("maxSmsLength must be between 1 and 10000", field="maxSmsLength")
    if "isActive" in data:
        gateway.is_active = as_bool(data["isActive"], "isActive")
    rate_key = "rateLimitPerSecond" if "rateLimitPerSecond" in data else "rateLimit" if "rateLimit" in data else None
    if rate_key:
        gateway.rate_limit_per_second = _rate(data[rate_key], rate_key)
    if "senderRateLimitPerSecond" in data:
        gateway.sender_rate_limit_per_second = _rate(data["senderRateLimitPerSecond"], "senderRateLimitPerSecond")
    if "fallback" in data:
        value = data["fallback"]
        if isinstance(value, dict):
            value = value.get("uid") or value.get("id")
        if value in (None, ""):
            gateway.fallback = None
        else:
            try:
                fallback = Gateway.objects.filter(pk=uuid.UUID(str(value)), organization=organization).first()
            except ValueError:
                fallback = None
            if fallback is None or fallback.pk == gateway.pk:
                raise ConfigError("fallback must be the uid of another gateway of this organization", field="fallback")
            gateway.fallback = fallback
    is_default = as_bool(data["isDefault"], "isDefault") if "isDefault" in data else None
    numbers = None
    if "inboundNumbers" in data:
        raw = data["inboundNumbers"] or []
        if not isinstance(raw, list):
            raise ConfigError("inboundNumbers must be a list of E.164 numbers", field="inboundNumbers")
        numbers = []
        for n, item in enumerate(raw):
            # A number, or an object as this API shows them ({"number", "country"}: the country is
            # derived from the number, never taken as given).
            value = item.get("number") if isinstance(item, dict) else item
            try:
                numbers.append(to_e164(str(value or "")))
            except InvalidPhoneNumber as exc:
                raise ConfigError(f"inboundNumbers[{n}]: {exc}", field=f"inboundNumbers[{n}]")
    return is_default, numbers


def _inbound_numbers_shown(gateway: Gateway, *, organization_id=None) -> list[dict]:
    """The gateway's numbers; of a global gateway seen by an organization, those it may send from;
    of a global gateway seen by a superuser, with the organization each is assigned to."""
    numbers = gateway.inbound_numbers.all()
    if organization_id is not None:
        numbers = [n for n in numbers if n.organization_id in (None, organization_id)]
    with_organization = organization_id is None and gateway.organization_id is None
    return [_number_shown(n, with_organization) for n in numbers]


def _number_shown(number: InboundNumber, with_organization: bool) -> dict:
    shown = {"number": str(number.number), "country": number.country}
    if with_organization:
        shown["organization"] = str(number.organization_id) if number.organization_id else None
    return shown


def _numbers_assign(gateway: Gateway, data: dict) -> None:
    """`inboundNumbers` objects carrying `organization` (a global gateway's, superusers only: nobody
    else reaches one through the API) assign or share that number, as the admin does."""
    raw = data.get("inboundNumbers")
    for n, item in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(item, dict) or "organization" not in item:
            continue
        field = f"inboundNumbers[{n}].organization"
        organization = None
        if item["organization"] not in (None, "") and gateway.organization_id is not None:
            raise ConfigError(f"{field}: only a global gateway's numbers are assigned to organizations", field=field)
        if item["organization"] not in (None, ""):
            try:
                organization = Organization.objects.filter(pk=uuid.UUID(str(item["organization"]))).first()
            except ValueError:
                organization = None
            if organization is None:
                raise ConfigError(f"{field} must be the id of an organization", field=field)
        number = gateway.inbound_numbers.get(number=to_e164(str(item.get("number") or "")))
        try:
            inbound_number_assign(number=number, organization=organization)
        except ConfigError as exc:
            raise ConfigError(f"{field}: {exc}", field=field) from exc


def gateway_own_numbers(gateway: Gateway) -> list[str]:
    """Numbers a gateway receives on by its configuration alone, as its adapter declares them."""
    adapter = adapter_class(gateway.type)
    return adapter.own_numbers(gateway.config) if adapter else []


def gateway_default_senders(gateway: Gateway) -> set[str]:
    """The numbers a gateway sends from when a message names none (`from`, AWS
    `originationIdentity`): every organization using a global gateway may go out from them, so
    they stay shared (never assigned to one organization)."""
    found = set()
    for key in ("from", "originationIdentity"):
        value = str(gateway.config.get(key) or "")
        if value.startswith("+"):
            try:
                found.add(to_e164(value))
            except InvalidPhoneNumber:
                continue
    return found


def inbound_number_assign_check(*, number: InboundNumber, organization) -> None:
    """ConfigError naming `organization` when this number cannot be given to it."""
    gateway = number.gateway
    if organization is not None:
        if gateway.organization_id is not None:
            raise ConfigError("only a global gateway's numbers are assigned to organizations", field="organization")
        if str(number.number) in gateway_default_senders(gateway):
            raise ConfigError(
                "this is the gateway's default sender, used by every organization: it stays shared; "
                "assign another number",
                field="organization",
            )


def inbound_number_assign(*, number: InboundNumber, organization) -> InboundNumber:
    """Give a global gateway's number to one organization (None: shared again). Superusers only
    (the admin): that organization alone sends from it, and every reply to it is its own."""
    inbound_number_assign_check(number=number, organization=organization)
    gateway = number.gateway
    number.organization = organization
    number.save(update_fields=["organization"])
    logger.info("inbound number assigned", extra={"gateway": gateway.uid, "shared": organization is None})
    return number


def inbound_numbers_set(gateway: Gateway, numbers: list[str] | None, *, own_before: list[str] = ()) -> None:
    """Set the gateway's inbound numbers (None: keep the listed ones, less an own number the
    configuration no longer has, `own_before`), always with its own (gateway_own_numbers), each
    with its country."""
    own = gateway_own_numbers(gateway)
    if numbers is None:
        listed = [str(n) for n in gateway.inbound_numbers.values_list("number", flat=True)]
        numbers = [n for n in listed if n not in own_before or n in own]
    numbers = [*numbers, *own]
    gateway.inbound_numbers.exclude(number__in=numbers).delete()
    # Assignments belong to global gateways only, never to a default sender (inbound_number_assign).
    assigned = gateway.inbound_numbers.filter(organization__isnull=False)
    if gateway.organization_id is None:
        assigned = assigned.filter(number__in=gateway_default_senders(gateway))
    assigned.update(organization=None)
    existing = {str(n) for n in gateway.inbound_numbers.values_list("number", flat=True)}
    InboundNumber.objects.bulk_create(
        [
            InboundNumber(gateway=gateway, number=n, country=country_of(n))
            for n in dict.fromkeys(numbers)
            if n not in existing
        ]
    )


def gateway_inbound_warnings(*, gateway: Gateway) -> list[str]:
    """One warning per inbound-number country where receiving SMS is not known to work (seed list)."""
    # Queried, not gateway.inbound_numbers.all(): a prefetched list would predate the save.
    countries = dict.fromkeys(InboundNumber.objects.filter(gateway=gateway).values_list("country", flat=True))
    return [w for w in (inbound_number_warning(c) for c in countries) if w]


@transaction.atomic
def gateway_create(*, organization, data: dict, type_: str | None = None) -> Gateway:
    """Create a gateway from DHIS2-style JSON. The organization's first gateway becomes its default."""
    if not isinstance(data, dict):
        raise ConfigError("the body must be a JSON object", field="body")
    type_ = type_ or type_from_name(data.get("type"))
    if type_ and data.get("type") not in (None, "") and type_from_name(data.get("type")) != type_:
        raise ConfigError(f"type {data.get('type')!r} does not match this endpoint ({type_})", field="type")
    gateway = Gateway(organization=organization, type=type_)
    is_default, numbers = _common_fields(data=data, gateway=gateway, organization=organization)
    gateway.config, gateway.secrets = config_validate(type_=type_, data=data)
    gateway.secrets = {**gateway.secrets, "webhookTokens": [pysecrets.token_urlsafe(24)]}
    has_default = Gateway.objects.filter(organization=organization, is_default=True).exists()
    gateway.is_default = False
    gateway.save()
    inbound_numbers_set(gateway, numbers or [])
    _numbers_assign(gateway, data)
    if is_default or not has_default:
        gateway_set_default(gateway=gateway)
    logger.info("gateway created", extra={"gateway": gateway.uid, "type": type_})
    return gateway


@transaction.atomic
def gateway_update(*, gateway: Gateway, data: dict, type_: str | None = None) -> Gateway:
    """Update from DHIS2-style JSON; absent fields and absent/blank/masked secrets keep their values."""
    if not isinstance(data, dict):
        raise ConfigError("the body must be a JSON object", field="body")
    if data.get("type") not in (None, "") and type_from_name(data.get("type")) != gateway.type:
        raise TypeChangeError()
    if type_ and type_ != gateway.type:
        raise TypeChangeError()
    is_default, numbers = _common_fields(data=data, gateway=gateway, organization=gateway.organization)
    if is_default and not gateway.is_default and _other_default_exists(gateway):
        # As DHIS2: only `PUT /api/gateways/default/{uid}` (gateway_set_default) moves the default.
        raise DefaultExistsError()
    own_before = gateway_own_numbers(gateway)
    gateway.config, gateway.secrets = config_validate(type_=gateway.type, data=data, gateway=gateway)
    gateway.save()
    inbound_numbers_set(gateway, numbers, own_before=own_before)
    _numbers_assign(gateway, data)
    if is_default:
        gateway_set_default(gateway=gateway)
    logger.info("gateway updated", extra={"gateway": gateway.uid})
    return gateway


class TypeChangeError(ConfigError):
    def __init__(self):
        super().__init__("Type of an existing configuration cannot be changed", field="type")


class DefaultExistsError(ConfigError):
    def __init__(self):
        super().__init__("Default gateway already exists", field="isDefault")


def _other_default_exists(gateway: Gateway) -> bool:
    others = Gateway.objects.filter(organization=gateway.organization, is_default=True).exclude(pk=gateway.pk)
    return others.exists()


@transaction.atomic
def gateway_set_default(*, gateway: Gateway) -> Gateway:
    Gateway.objects.filter(organization=gateway.organization, is_default=True).exclude(pk=gateway.pk).update(
        is_default=False
    )
    Gateway.objects.filter(pk=gateway.pk).update(is_default=True)
    gateway.is_default = True
    local_caches_clear()
    transaction.on_commit(local_caches_clear)  # and once committed, in case a send reloaded the old one
    return gateway


@transaction.atomic
def gateway_delete(*, gateway: Gateway) -> None:
    """Delete; when it was the default, the first remaining gateway of the organization takes over."""
    organization, was_default = gateway.organization, gateway.is_default
    gateway.delete()
    if was_default:
        successor = Gateway.objects.filter(organization=organization).order_by("created_at").first()
        if successor is not None:
            gateway_set_default(gateway=successor)
    logger.info("gateway deleted", extra={"gateway": str(gateway.pk)})


def gateway_rotate_webhook_token(*, gateway: Gateway) -> str:
    """Issue a new webhook token; the previous one stays valid until `gateway_retire_webhook_token`."""
    tokens = gateway.webhook_tokens()
    new = pysecrets.token_urlsafe(24)
    gateway.secrets = {**gateway.secrets, "webhookTokens": [new, *tokens[:1]]}
    gateway.save(update_fields=["secrets", "updated_at"])
    logger.info("gateway webhook token rotated", extra={"gateway": gateway.uid})
    return new


def gateway_retire_webhook_token(*, gateway: Gateway) -> None:
    """Drop the previous webhook token once the provider console shows the new URL."""
    tokens = gateway.webhook_tokens()
    gateway.secrets = {**gateway.secrets, "webhookTokens": tokens[:1]}
    gateway.save(update_fields=["secrets", "updated_at"])
    logger.info("gateway previous webhook token retired", extra={"gateway": gateway.uid})


def gateway_webhooks_register(*, gateway: Gateway, base_url: str | None = None) -> list[dict]:
    """Register this gateway's inbound and status URLs through the provider's own API (SMS Gateway
    for Android's `/webhooks`), for providers whose adapter can. Raises ConfigError when it cannot,
    a GatewayError when the provider refuses or is unreachable."""
    adapter = get_adapter(gateway)
    if not adapter.registers_webhooks:
        raise ConfigError(f"{gateway.get_type_display()} webhooks are set in the provider's console", field="type")
    if not gateway.webhook_tokens():
        gateway.ensure_webhook_token()
        gateway.save(update_fields=["secrets"])
    urls = {kind: gateway_webhook_url(gateway=gateway, kind=kind, base_url=base_url) for kind in ("inbound", "status")}
    registered = adapter.webhooks_register(urls)
    logger.info("webhooks registered with the provider", extra={"gateway": gateway.uid, "count": len(registered)})
    return registered
