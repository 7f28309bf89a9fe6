"""Reads for Conversations: one person's (or number's) thread, the recent threads, people search."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q

from adherence.models import DoseConfirmation
from entities.models import ENTITY_MODELS
from messaging.models import InboundMessage, OutboundMessage
from portal.selectors.common import phone_key, phone_masked, words_q


def entity_get(*, organization, entity_type: str, entity_id):
    model = ENTITY_MODELS.get(entity_type)
    if model is None:
        return None
    return model.objects.filter(organization=organization, pk=entity_id).first()


@dataclass
class ThreadItem:
    direction: str  # "in" | "out"
    id: str
    body: str
    at: datetime
    status: str
    detail: str = ""
    source: str = ""
    confirmation: object = None
    may_not_have_been_sent: bool = False  # `unknown` past the deadline: offered for a resend
    held_until: datetime | None = None  # queued and held back (quiet hours, backoff) until then
    timeline: list = field(default_factory=list)  # (what happened, when), oldest first
    route_history: list = field(default_factory=list)  # gateways that gave up on it before this one


def _timeline(m) -> list:
    """An outbound message's status changes, as far as its timestamps record them."""
    steps = [("queued", m.created_at), ("sent", m.sent_at), ("delivered", m.delivered_at)]
    steps += [("undelivered", m.undelivered_at), ("failed", m.failed_at), ("unknown", m.unknown_at)]
    return sorted(((label, at) for label, at in steps if at is not None), key=lambda step: step[1])


def _source_label(message) -> str:
    # "Schedule" read as a calendar entry to staff: a medication schedule's message is its reminder
    # (sent by the beat, or by staff with "Send reminder now").
    return "Medication reminder" if message.source == "schedule" else message.get_source_display()


def thread_messages(*, organization, entity=None, phone: str = "", limit: int = 100) -> list[ThreadItem]:
    """Every message to and from the entity (or, for an unregistered number, that number), oldest
    first (the last `limit` of each direction)."""
    if entity is not None:
        phone = str(entity.phone) if entity.phone else ""
    items: list[ThreadItem] = []
    spellings = {phone, "+" + phone_key(phone), phone_key(phone)} if phone else set()
    if phone:
        from messaging.services.reconcile import may_not_have_been_sent

        outbound = OutboundMessage.objects.filter(organization=organization, recipient__in=spellings)
        doubtful = set(outbound.filter(may_not_have_been_sent()).values_list("id", flat=True))
        for m in outbound.order_by("-created_at")[:limit]:
            item = ThreadItem("out", str(m.id), m.body, m.created_at, m.status, m.error_reason, _source_label(m))
            item.may_not_have_been_sent = m.id in doubtful
            item.held_until = m.held_until()
            item.timeline, item.route_history = _timeline(m), m.route_history or []
            items.append(item)
    mine = Q(originator__in=spellings) if phone else Q(pk__in=[])
    if entity is not None:
        mine |= Q(entity_type=entity.entity_type, entity_id=entity.pk)
    inbound = InboundMessage.objects.filter(organization=organization).filter(mine)
    received = [
        ThreadItem("in", str(m.id), m.text, m.received_at, m.status, m.failure_reason)
        for m in inbound.order_by("-received_at")[:limit]
    ]
    confirmations = {
        str(c.inbound_message_id): c
        for c in DoseConfirmation.objects.filter(
            organization=organization, inbound_message_id__in=[i.id for i in received]
        ).select_related("slot__schedule")
    }
    for item in received:
        item.confirmation = confirmations.get(item.id)
    items += received
    items.sort(key=lambda i: (i.at, i.direction == "in"))
    return items[-limit:]


@dataclass
class ThreadSummary:
    phone: str
    entity: object | None
    last_at: datetime
    last_body: str
    last_direction: str
    message_id: str = ""  # the latest message: opens the thread of a number nobody is registered with
    heard_from: bool = False  # the number has written to us (else we only sent to it)

    @property
    def masked(self) -> str:
        return phone_masked(self.phone)


def recent_threads(*, organization, limit: int = 50) -> list[ThreadSummary]:
    """The numbers most recently messaged or heard from — one row per number — with its entity."""
    outbound = OutboundMessage.objects.filter(organization=organization).order_by("-created_at")
    inbound = InboundMessage.objects.filter(organization=organization).order_by("-received_at")
    latest: dict[str, ThreadSummary] = {}
    for message_id, phone, at, body in outbound.values_list("id", "recipient", "created_at", "body")[:300]:
        latest.setdefault(phone_key(phone), ThreadSummary(phone, None, at, body, "out", str(message_id)))
    for message_id, phone, at, body in inbound.values_list("id", "originator", "received_at", "text")[:300]:
        key = phone_key(phone)
        current = latest.get(key)
        if current is None or at > current.last_at:
            # Keep the E.164 spelling when one direction has it.
            shown = current.phone if current is not None and current.phone.startswith("+") else phone
            latest[key] = ThreadSummary(shown, None, at, body, "in", str(message_id))
        latest[key].heard_from = True
    threads = sorted(latest.values(), key=lambda t: t.last_at, reverse=True)[:limit]
    numbers = {"+" + phone_key(t.phone) for t in threads} | {t.phone for t in threads}
    owners: dict[str, object] = {}
    for model in ENTITY_MODELS.values():
        for entity in model.objects.filter(organization=organization, phone__in=numbers):
            owners.setdefault(phone_key(entity.phone), entity)
    for t in threads:
        t.entity = owners.get(phone_key(t.phone))
    return threads


def number_of_message(*, organization, message_id) -> str | None:
    """The phone number of one of the organization's messages (inbound sender or outbound recipient)."""
    phone = (
        InboundMessage.objects.filter(organization=organization, pk=message_id)
        .values_list("originator", flat=True)
        .first()
    )
    if phone is None:
        phone = (
            OutboundMessage.objects.filter(organization=organization, pk=message_id)
            .values_list("recipient", flat=True)
            .first()
        )
    return phone


def entity_by_phone(*, organization, phone: str):
    candidates = {phone, "+" + phone_key(phone)}
    for model in ENTITY_MODELS.values():
        entity = model.objects.filter(organization=organization, phone__in=candidates).first()
        if entity is not None:
            return entity
    return None


def entities_search(*, organization, query: str, limit: int = 20) -> list:
    found = []
    for model in ENTITY_MODELS.values():
        qs = model.objects.filter(organization=organization)
        if query:
            qs = qs.filter(words_q(query, "first_name", "last_name", "national_id", "phone"))
        found.extend(qs.order_by("last_name", "first_name")[:limit])
    return found[: limit * 3]
