"""The admin's home page: an organization's overview (gateway health, today's messages, failing plugins, opt-outs).

Scoped to the organization the user acts for; a superuser sees every organization, or picks one
(`?organization=<id>`). Counts only: no phone number or message body is shown here.
"""

import uuid
from datetime import timedelta
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from entities.models import Organization
from entities.tenancy import acting_organization
from gateways.models import Gateway
from messaging.models import InboundMessage, OptOut, OutboundMessage
from plugins.models import PluginInvocation
from smsportal.admin_base import admin_when

FAILING_WINDOW = timedelta(days=7)


def _link(name: str, text, **params) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "")})
    return _anchor(reverse(name) + (f"?{query}" if query else ""), text)


def _anchor(href: str, text) -> str:
    return format_html('<a class="text-primary-600 font-semibold" href="{}">{}</a>', href, text)


def _health(gateway: Gateway, now) -> tuple[str, str]:
    """(label, variant) of a gateway's state, as an organization admin reads it."""
    if not gateway.is_active:
        return "inactive", ""
    if gateway.down_until and gateway.down_until > now:
        return "down", "danger"
    if gateway.last_error_at and (not gateway.last_success_at or gateway.last_error_at > gateway.last_success_at):
        return "failing", "warning"
    if gateway.last_success_at:
        return "working", "success"
    return "not used yet", "info"


def _status_rows(statuses, counts: dict, model: str, **filters) -> list[dict]:
    """One row per status with its count, linked to the admin list filtered to it."""
    return [
        {
            "status": status.label,
            "count": counts.get(status.value, 0),
            "link": _link(
                f"admin:messaging_{model}_changelist", counts.get(status.value, 0), status=status.value, **filters
            ),
        }
        for status in statuses
    ]


def overview(*, organization: Organization | None, now=None) -> dict:
    """What the home page shows for one organization (None: every organization, for superusers).
    "Today" and the times shown are in the organization's time zone (the server's for all)."""
    now = now or timezone.now()
    tz = organization.zone() if organization else None
    today = timezone.localtime(now, tz).replace(hour=0, minute=0, second=0, microsecond=0)
    scope = Q(organization=organization) if organization else Q()
    org_param = organization.pk if organization else None

    gateways = Gateway.objects.filter(scope if organization else Q()).select_related("organization")
    gateway_rows = []
    for gateway in gateways.order_by("organization__name", "name")[:50]:
        label, variant = _health(gateway, now)
        gateway_rows.append(
            {
                "name": _anchor(reverse("admin:gateways_gateway_change", args=[gateway.pk]), gateway.name),
                "type": gateway.get_type_display(),
                "default": gateway.is_default,
                "state": label,
                "variant": variant,
                "last_success": admin_when(gateway.last_success_at, tz),
                "last_error": admin_when(gateway.last_error_at, tz),
                "error": (gateway.last_error or "")[:80],
                "down_until": admin_when(gateway.down_until, tz)
                if gateway.down_until and gateway.down_until > now
                else "—",
            }
        )

    sent = dict(
        OutboundMessage.objects.filter(scope, created_at__gte=today).values_list("status").annotate(n=Count("pk"))
    )
    # Replies held unattributed belong to no organization: the superuser's own list counts them.
    received = dict(
        InboundMessage.objects.filter(scope, organization__isnull=False, received_at__gte=today)
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    messages_today = _status_rows(OutboundMessage.Status, sent, "outboundmessage", created_at__gte=today.isoformat())
    received_today = _status_rows(
        [s for s in InboundMessage.Status if s != InboundMessage.Status.UNATTRIBUTED],
        received,
        "inboundmessage",
        received_at__gte=today.isoformat(),
    )

    since = now - FAILING_WINDOW
    invocations = PluginInvocation.objects.filter(scope)
    failed = invocations.filter(status=PluginInvocation.Status.FAILED, created_at__gte=since).count()
    retrying = invocations.filter(status=PluginInvocation.Status.RETRYING).count()
    opt_outs = OptOut.objects.filter(scope)
    changelist = "admin:plugins_plugininvocation_changelist"
    return {
        "organization": organization,
        "zone": tz,  # a superuser's header says UTC: the page says whose day it counts
        "gateways": gateway_rows,
        "gateway_headers": ["Gateway", "Type", "State", "Last success", "Last error", "Down until"],
        "gateways_attention": sum(row["state"] in ("down", "failing") for row in gateway_rows),
        "gateways_link": reverse("admin:gateways_gateway_changelist"),
        "messages_today": messages_today,  # sent (outbound), by status
        "messages_received_today": received_today,  # received (inbound), by status
        "messages_sent_total": sum(sent.values()),
        "messages_received_total": sum(received.values()),
        "messages_today_total": sum(sent.values()) + sum(received.values()),
        "plugins_failed": failed,
        "plugins_failed_link": _link(changelist, failed, status="failed", organization__id__exact=org_param),
        "plugins_retrying": retrying,
        "plugins_retrying_link": _link(changelist, retrying, status="retrying", organization__id__exact=org_param),
        "opt_outs": opt_outs.count(),
        "opt_outs_week": opt_outs.filter(created_at__gte=since).count(),
        "opt_outs_link": _link(
            "admin:messaging_optout_changelist", opt_outs.count(), organization__id__exact=org_param
        ),
    }


def _organization_chosen(value: str) -> Organization | None:
    try:
        return Organization.objects.filter(pk=uuid.UUID(value)).first()
    except ValueError:
        return None  # absent or malformed: every organization


def dashboard_callback(request, context: dict) -> dict:
    """UNFOLD["DASHBOARD_CALLBACK"]: adds the overview to the admin index page's context."""
    user = request.user
    organization = acting_organization(request)
    choices = []
    if user.is_superuser:
        choices = list(Organization.objects.order_by("name").values_list("pk", "name")[:200])
        organization = _organization_chosen(request.GET.get("organization", ""))
    elif organization is None:
        return context  # staff without an organization: nothing of anyone's to show
    context.update(
        {
            "overview": overview(organization=organization),
            "organization_choices": choices,
            "all_organizations": user.is_superuser and organization is None,
        }
    )
    return context
