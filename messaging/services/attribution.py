"""Which organization a reply on a global gateway belongs to, and the unattributed ones.

A global gateway serves every organization without its own. A reply is attributed by the number it
was sent *to*, never guessed from who last texted the sender (any tenant could then capture another
tenant's replies by texting the same phone):

1. the destination is a number of the gateway assigned to one organization → that organization;
2. otherwise (a shared number, or one the gateway does not list) → the organization of which the
   sender is a contact (patient, caregiver, organization user), when that is exactly one;
3. otherwise (no organization, or several) the reply is stored *unattributed*: no organization, no
   routing, no plugin call, no live event, visible to superusers only until one assigns it
   (`inbound_assign`), after which it is routed as if it had arrived for that organization.
"""

import logging

from django.db import IntegrityError, transaction

from entities.selectors import organizations_with_contact
from gateways.models import InboundNumber
from messaging.models import InboundMessage
from messaging.phones import InvalidPhoneNumber, to_e164

logger = logging.getLogger(__name__)


def reply_organization(*, gateway, sender: str, destination: str):
    """The organization a reply on `gateway` belongs to (rules above); None = unattributed."""
    from messaging.services.inbound import organization_get

    if gateway.organization_id is not None:
        return gateway.organization
    owner = _destination_owner(gateway=gateway, destination=destination)
    if owner is None and sender.startswith("+"):
        candidates = organizations_with_contact(phone_number=sender)
        owner = next(iter(candidates)) if len(candidates) == 1 else None
    return organization_get(organization_id=owner) if owner is not None else None


def _destination_owner(*, gateway, destination: str):
    """The organization the destination number is assigned to on this gateway, if any."""
    text = (destination or "").strip()
    if text and text[0].isdigit():
        text = "+" + text  # providers often drop the "+"
    try:
        number = to_e164(text, strict=False)
    except InvalidPhoneNumber:
        return None
    return (
        InboundNumber.objects.filter(gateway=gateway, number=number, organization__isnull=False)
        .values_list("organization_id", flat=True)
        .first()
    )


def inbound_assign(*, message_id, organization) -> bool:
    """A superuser gives an unattributed reply to `organization`: it is routed for it as if it had
    arrived for it (reply correlation, commands, plugins). False when it was no longer unattributed."""
    from messaging.services.inbound import inbound_route_request

    try:
        with transaction.atomic():
            assigned = InboundMessage.objects.filter(
                pk=message_id, organization__isnull=True, status=InboundMessage.Status.UNATTRIBUTED
            ).update(organization=organization, status=InboundMessage.Status.RECEIVED)
    except IntegrityError:
        # The organization already has this provider message (a retry attributed meanwhile).
        logger.warning("unattributed reply not assigned: already stored for that organization",
                       extra={"inbound": str(message_id)})  # fmt: skip
        return False
    if assigned:
        extra = {"inbound": str(message_id), "organization": str(organization.pk)}
        logger.info("unattributed reply assigned", extra=extra)
        transaction.on_commit(inbound_route_request)
    return bool(assigned)


def unattributed_list():
    """Replies waiting for a superuser to assign them (never shown to an organization)."""
    return InboundMessage.objects.filter(organization__isnull=True, status=InboundMessage.Status.UNATTRIBUTED)
