"""Receiving: store each provider message exactly once, then ask for its routing (routing.py).

`inbound_receive()` stores one row per provider message. The unique constraint
(organization, gateway label, provider message id) is the claim: concurrent copies of one provider
message race on the INSERT and exactly one wins (`created=True`); only the winner asks for routing,
after commit.
"""

import functools
import logging
import uuid

from django.db import connection, transaction
from django.utils import timezone

from gateways.providers.base import InboundSms
from messaging.models import InboundMessage
from messaging.services.attribution import reply_organization
from messaging.services.routing import inbound_route_request
from smsportal.db import execute_hot, insert_row_params, insert_rows_sql
from smsportal.phones import sender_e164
from smsportal.tracing import new_trace_id

logger = logging.getLogger(__name__)
Status = InboundMessage.Status


def inbound_receive(
    *,
    organization,
    gateway,
    sms: InboundSms,
    gateway_label: str = "",
    source_ip: str | None = None,
    encoding: str = "",
    sent_at=None,
) -> tuple[InboundMessage, bool]:
    """Store one inbound SMS exactly once and schedule its routing. Returns (message, created).

    `organization` None (a global gateway's webhook): attributed by the number the reply was sent
    to (messaging/services/attribution.py); a reply no rule attributes is stored unattributed.
    """
    label = gateway_label or (gateway.uid if gateway is not None else "default")
    provider_id = sms.provider_message_id or uuid.uuid4().hex
    if organization is None and gateway is not None:
        organization = reply_organization(
            gateway=gateway, sender=sender_e164(sms.sender), destination=sms.recipient or ""
        )
    unattributed = organization is None
    region = None if unattributed else (organization.default_region or None)
    candidate = InboundMessage(
        organization=organization,
        status=Status.UNATTRIBUTED if unattributed else Status.RECEIVED,
        arrived_unattributed=unattributed,
        gateway_label=label[:100],
        provider_message_id=provider_id[:128],
        gateway=gateway,
        originator=sender_e164(sms.sender, region=region)[:32],
        recipient=(sms.recipient or "")[:32],
        text=sms.text,
        encoding=encoding or "ENC7BIT",
        received_at=sms.received_at or timezone.now(),
        sent_at=sent_at,
        raw=dict(sms.raw or {}),
        previous_published_message_id=(sms.previous_published_message_id or "")[:128],
        source_ip=source_ip,
        trace_id=new_trace_id(),
    )
    # No savepoint of our own: one statement, inside the caller's transaction when there is one
    # (the webhook view's), so routing is requested only once the row is committed.
    created = _insert_once(candidate, unattributed=unattributed)
    if created:
        message = candidate
        message._state.adding, message._state.db = False, connection.alias
        if unattributed:
            logger.warning("inbound SMS on a global gateway held unattributed", extra={"inbound": str(message.id)})
        else:
            transaction.on_commit(inbound_route_request)
    else:
        same = {"arrived_unattributed": True} if unattributed else {"organization": organization}
        message = InboundMessage.objects.filter(
            gateway_label=candidate.gateway_label, provider_message_id=candidate.provider_message_id, **same
        ).first()
    if not created:
        logger.info("duplicate inbound message ignored", extra={"inbound": str(message.id)})
    return message, created


def _insert_once(message: InboundMessage, *, unattributed: bool = False) -> bool:
    """INSERT … ON CONFLICT DO NOTHING RETURNING: True when this call stored the row.

    One statement: the unique constraint decides between concurrent copies of a provider message
    (the loser waits for the winner's commit, then inserts nothing) — no check-then-insert, no
    savepoint round trips on the hot webhook path.
    """
    _, returned = execute_hot(_insert_once_sql(connection.vendor, unattributed), insert_row_params(message))
    return returned is not None


@functools.cache
def _insert_once_sql(vendor: str, unattributed: bool = False) -> str:
    """The statement of `_insert_once`, built once per process (it only depends on the model).
    An unattributed row (no organization) conflicts on its own partial unique index instead, which
    also holds the rows superusers have assigned since."""
    conflict = ", ".join(
        connection.ops.quote_name(InboundMessage._meta.get_field(name).column)
        for name in (() if unattributed else ("organization",)) + ("gateway_label", "provider_message_id")
    )
    partial = f" WHERE {connection.ops.quote_name('arrived_unattributed')}" if unattributed else ""
    return insert_rows_sql(InboundMessage, conflict=f"({conflict}){partial}", returning=connection.ops.quote_name("id"))


def inbound_delete(*, organization, ids: list) -> int:
    """DHIS2 DELETE: remove the organization's inbound messages with these ids; unknown ids ignored."""
    valid = []
    for raw in ids:
        try:
            valid.append(uuid.UUID(str(raw)))
        except ValueError:
            continue
    qs = InboundMessage.objects.filter(organization=organization, pk__in=valid)
    count = qs.count()
    qs.delete()
    return count
