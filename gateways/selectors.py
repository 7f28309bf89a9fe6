"""Reads about gateways: which one sends a message, and from which number."""

from django.db.models import Q
from django.utils import timezone

from gateways.models import Gateway
from gateways.providers import ADAPTERS, get_adapter
from gateways.providers.base import Capabilities, ProviderAdapter
from gateways.routing import gateway_usable_fallback
from smsportal.localcache import LocalCache
from smsportal.phones import country_of

_send_gateways = LocalCache("send-gateways")


def gateway_for_send(*, organization, gateway_id=None) -> Gateway | None:
    """The explicit gateway (of this organization), else the organization's default, else the global default.

    The default is read on every send, so a process reuses it (with its local numbers) for a few
    seconds (smsportal/localcache.py); treat the instance as read-only.
    """
    if gateway_id is not None:
        return Gateway.objects.filter(is_active=True, organization=organization, pk=gateway_id).first()
    gateway = _send_gateways.get_or_load(
        organization.pk if organization is not None else None,
        lambda: gateway_default_for(organization=organization, prefetch=("inbound_numbers",)),
    )
    if gateway is not None and gateway.down_until and gateway.down_until > timezone.now():
        # Marked down: new messages start on its fallback, if that one is usable.
        return gateway_usable_fallback(gateway) or gateway
    return gateway


def gateway_default_for(*, organization, prefetch: tuple[str, ...] = ()) -> Gateway | None:
    """The gateway an organization's sends use by default: its own active default, else the global one."""
    active = Gateway.objects.filter(is_active=True, is_default=True).prefetch_related(*prefetch)
    gateway = active.filter(organization=organization).first() if organization is not None else None
    return gateway or active.filter(organization__isnull=True).first()


def gateway_sender_for(*, gateway: Gateway, recipient: str, organization_id=None) -> str:
    """Our number in the recipient's country when the gateway has one, so replies come back locally."""
    senders = gateway_senders(gateway, organization_id=organization_id)
    return senders.get(country_of(recipient)) or gateway.config.get("from", "") or ""


def gateway_senders(gateway: Gateway, *, organization_id=None) -> dict[str, str]:
    """The gateway's local numbers by country (ISO code → E.164) that `organization_id` may send
    from: pick one per recipient with `country_of()`, as gateway_sender_for() does, without
    rebuilding this for every recipient. A number listed for a country wins over the gateway's own
    `from` there; on a global gateway a number assigned to the organization wins over a shared one,
    and a number assigned to another organization is never used (its replies are that one's).
    Sorted so that the number that wins comes last."""
    if not gateway.pk:
        return {}
    own = str(gateway.config.get("from") or "")
    usable = [n for n in gateway.inbound_numbers.all() if n.organization_id in (None, organization_id)]
    numbers = sorted(usable, key=lambda n: (n.organization_id is not None, str(n.number) != own, n.pk))
    return {n.country: str(n.number) for n in numbers}


# Pull-mode providers (Capabilities.pull): a class attribute of every pull adapter (some push adapters
# compute theirs per gateway, so only class-level Capabilities are read).
PULL_TYPES = tuple(t for t, a in ADAPTERS.items() if isinstance(a.capabilities, Capabilities) and a.capabilities.pull)
_pull_ids = LocalCache("pull-gateways")


def pull_gateway_ids() -> list:
    """The ids of the pull-mode gateways (cached per process): dispatch must not push to them."""
    return _pull_ids.get_or_load(
        None, lambda: list(Gateway.objects.filter(type__in=PULL_TYPES).values_list("pk", flat=True))
    )


_webhook_gateways = LocalCache("webhook-gateway")


def gateway_get_for_webhook(*, gateway_id) -> tuple[Gateway, ProviderAdapter] | None:
    """The active gateway a webhook URL names, with its organization and adapter; None when unknown.

    Kept per process for SMSPORTAL_LOCAL_CACHE_SECONDS (smsportal/localcache.py): the lookup, its
    query compilation and the decryption of the gateway's secrets were over half the CPU of an
    inbound webhook (docs/performance.md). Adapters hold no per-request state, so one is shared.
    An unknown id is not cached (a gateway created meanwhile answers at once).
    """
    try:
        return _webhook_gateways.get_or_load(str(gateway_id), lambda: _gateway_with_adapter(gateway_id))
    except _UnknownGateway:
        return None


class _UnknownGateway(Exception):
    """Raised out of the cache loader, so that nothing is stored for an unknown id."""


def _gateway_with_adapter(gateway_id) -> tuple[Gateway, ProviderAdapter]:
    # At most one row by primary key: no ORDER BY to compile (first() would add one).
    found = list(Gateway.objects.select_related("organization").filter(Q(pk=gateway_id), is_active=True)[:1])
    if not found:
        raise _UnknownGateway
    return found[0], get_adapter(found[0])
