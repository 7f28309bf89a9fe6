"""Reads for the phone simulator: the organization's people with a number, and one phone's screen."""

from entities.models import ENTITY_MODELS
from messaging.models import InboundMessage, OutboundMessage
from portal.selectors.conversations import ThreadItem


def simulator_numbers(*, organization, limit: int = 300) -> list:
    """The organization's people with a phone number, for the phone simulator's picker."""
    found = []
    for model in ENTITY_MODELS.values():
        found.extend(model.objects.filter(organization=organization).exclude(phone="").order_by("last_name")[:limit])
    return found


def simulator_phone(*, organization, number: str, limit: int = 50) -> list[ThreadItem]:
    """What the simulator gateway "delivered" to a number, and what that phone sent back."""
    items = [
        ThreadItem("in", str(m.id), m.body, m.sent_at or m.created_at, m.status)
        for m in OutboundMessage.objects.filter(
            organization=organization, recipient=number, gateway__type="simulator"
        ).order_by("-created_at")[:limit]
    ]
    items += [
        ThreadItem("out", str(m.id), m.text, m.received_at, m.status, m.failure_reason)
        for m in InboundMessage.objects.filter(organization=organization, originator=number).order_by("-received_at")[
            :limit
        ]
    ]
    items.sort(key=lambda i: i.at)
    return items
