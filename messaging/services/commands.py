"""Commands a reply can carry: opt-out/opt-in/help (built in) and the keyword's automatic answer,
plus reply correlation (which sent message a reply answers)."""

import logging
import re
import unicodedata

from messaging.exceptions import MessageRejected
from messaging.models import InboundMessage, OptOut, OutboundMessage
from messaging.services.outbound import messages_queue
from smsportal.logging import phone_ref

logger = logging.getLogger(__name__)


def normalize_words(text: str) -> list[str]:
    """Words for keyword matching: NFKC, upper-case, zero-width characters and punctuation removed."""
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"[\u200b-\u200f\u2060\ufeff]", "", text).upper()
    return [w for w in (re.sub(r"[^\w]", "", part) for part in text.split()) if w]


def correlate(message: InboundMessage, last: OutboundMessage | None) -> None:
    """inboundMessageId: the last message the organization sent to this number (not its own
    automatic command replies), unchanged by further replies until a new SMS is sent."""
    message.in_reply_to = last
    if not message.previous_published_message_id and last is not None:
        message.previous_published_message_id = last.provider_message_id or ""


def builtin_command_run(message: InboundMessage, kind: str) -> None:
    organization = message.organization
    message.command = kind
    if kind == "opt_out":
        if OptOut.objects.filter(organization=organization, phone_number=message.originator).exists():
            return  # already opted out: no second confirmation (FCC: at most one)
        # The one confirmation STOP gets (checked above: not already opted out).
        reply(message, organization.opt_out_confirmation, ignore_opt_out=True)
        OptOut.objects.get_or_create(
            organization=organization,
            phone_number=message.originator,
            defaults={"method": OptOut.Method.KEYWORD, "inbound_message": message},
        )
        logger.info("opt-out recorded", extra={"inbound": str(message.id), "phone": phone_ref(message.originator)})
    elif kind == "opt_in":
        deleted, _ = OptOut.objects.filter(organization=organization, phone_number=message.originator).delete()
        if deleted:
            reply(message, organization.opt_in_confirmation)
            logger.info("opt-in recorded", extra={"inbound": str(message.id), "phone": phone_ref(message.originator)})
    elif kind == "help":
        reply(message, organization.help_text, ignore_opt_out=True)  # CTIA: HELP is always answered


def reply(message: InboundMessage, text: str, *, ignore_opt_out: bool = False) -> None:
    """An automatic answer (source=system), through the gateway that received the message when it can send."""
    if not text:
        return
    gateway = message.gateway
    if gateway is not None and (not gateway.is_active or gateway.organization_id != message.organization_id):
        gateway = None
    try:
        messages_queue(
            organization=message.organization,
            recipients=[message.originator],
            body=text,
            source=OutboundMessage.Source.SYSTEM,
            gateway=gateway,
            ignore_opt_out=ignore_opt_out,
        )
    except MessageRejected as exc:
        logger.warning("automatic reply not queued", extra={"inbound": str(message.id), "reason": exc.code})
