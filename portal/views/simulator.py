"""The phone simulator: the organization's people's phones as a simulator gateway sees them, and a
reply typed as the phone, which takes the real inbound path."""

import uuid

from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from gateways.models import Gateway
from gateways.providers.base import InboundSms
from gateways.selectors import gateway_sender_for
from messaging.services.receive import inbound_receive
from portal import selectors
from portal.views.shared import is_fragment, staff_view


def _simulator_gateway(org):
    return Gateway.objects.filter(organization=org, type="simulator", is_active=True).order_by("-is_default").first()


def _number(raw: str) -> str:
    """E.164 from a query string, where an unencoded "+" arrives as a space."""
    raw = raw.strip()
    return "+" + raw.lstrip("+") if raw else ""


@staff_view
@require_GET
def simulator(request):
    org = request.organization
    number = _number(request.GET.get("number", ""))
    people = selectors.simulator_numbers(organization=org)
    numbers = {str(p.phone) for p in people}
    if number and number not in numbers:
        raise Http404("not a number of your organization")
    context = {
        "people": people,
        "number": number,
        "person": next((p for p in people if str(p.phone) == number), None),
        "items": selectors.simulator_phone(organization=org, number=number) if number else [],
        "gateway": _simulator_gateway(org),
    }
    if is_fragment(request):
        return render(request, "portal/_phone.html", context)
    return render(request, "portal/simulator.html", context)


@staff_view
@require_POST
def simulator_reply(request):
    """Reply as the phone: an InboundSms through the real inbound path (inbound_receive)."""
    org = request.organization
    number = _number(request.POST.get("number", ""))
    text = request.POST.get("text", "")
    if not any(str(p.phone) == number for p in selectors.simulator_numbers(organization=org)):
        raise Http404("not a number of your organization")
    gateway = _simulator_gateway(org)
    if gateway is None:
        return JsonResponse({"error": "your organization has no simulator gateway", "field": "number"}, status=400)
    if not text.strip():
        return JsonResponse({"error": "type a reply", "field": "text"}, status=400)
    sms = InboundSms(
        sender=number,
        recipient=gateway_sender_for(gateway=gateway, recipient=number, organization_id=org.pk),
        text=text[:1600],
        provider_message_id=f"sim-in-{uuid.uuid4().hex}",
        received_at=timezone.now(),
        raw={"simulator": True},
    )
    with transaction.atomic():
        message, _ = inbound_receive(organization=org, gateway=gateway, sms=sms)
    return JsonResponse({"ok": True, "id": str(message.id)})
