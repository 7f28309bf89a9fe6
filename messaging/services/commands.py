"""Commands a reply can carry: opt-out/opt-in/help (built in, matched by keywords.py) and the
keyword's automatic answer, plus reply correlation (which sent message a reply answers).

Opt-outs and opt-ins are recorded twice: the number-wide OptOut the send path refuses (STOP
without a program), and the consent ledger of every person of the organization at that number
(entities/consent.py). Each is confirmed once: a command that changes nothing is not answered.
"""

import logging

from entities.consent import consent_record
from entities.models import ConsentSource, ConsentStatus
from messaging.exceptions import MessageRejected
from messaging.models import InboundMessage, OptOut, OutboundMessage
from messaging.services.keywords import Command
from messaging.services.keywords import normalize_words as normalize_words  # routing imports it from here
from messaging.services.outbound import messages_queue
from smsportal.logging import phone_ref

logger = logging.getLogger(__name__)


def correlate(message: InboundMessage, last: OutboundMessage | None) -> None:
    """inboundMessageId: the last message the organization sent to this number (not its own
    automatic command replies), unchanged by further replies until a new SMS is sent."""
    message.in_reply_to = last
    if not message.previous_published_message_id and last is not None:
        message.previous_published_message_id = last.provider_message_id or ""


def builtin_command_run(message: InboundMessage, command: Command, *, people: list, programs) -> None:
    """Run a matched built-in command for the reply's sender (`people`: the organization's people
    at that number; `programs`: the organization's consent programs)."""
    message.command = command.kind
    if command.kind == "opt_out":
        if command.programs and people:
            _program_opt_out(message, command.programs, people)
        else:
            # Every message; also a program's STOP from a number that is no one's (nobody to
            # record it for: the whole number is opted out rather than nothing).
            _opt_out(message, people, programs)
    elif command.kind == "opt_in":
        _opt_in(message, command.programs or tuple(programs), people)
    elif command.kind == "help":
        reply(message, help_answer(message.organization), ignore_opt_out=True)  # CTIA: HELP is always answered


def _opt_out(message: InboundMessage, people: list, programs) -> None:
    organization = message.organization
    if OptOut.objects.filter(organization=organization, phone_number=message.originator).exists():
        return  # already opted out: no second confirmation (FCC: at most one)
    # The one confirmation STOP gets (checked above: not already opted out).
    reply(message, organization.opt_out_confirmation, ignore_opt_out=True)
    OptOut.objects.get_or_create(
        organization=organization,
        phone_number=message.originator,
        defaults={"method": OptOut.Method.KEYWORD, "inbound_message": message},
    )
    _ledger(message, people, programs, ConsentStatus.OPTED_OUT)
    logger.info("opt-out recorded", extra={"inbound": str(message.id), "phone": phone_ref(message.originator)})


def _program_opt_out(message: InboundMessage, programs, people: list) -> None:
    organization = message.organization
    if OptOut.objects.filter(organization=organization, phone_number=message.originator).exists():
        return  # nothing is sent to the number anyway; its STOP was confirmed
    changed = _ledger(message, people, programs, ConsentStatus.OPTED_OUT)
    if changed:
        reply(message, render(organization.program_opt_out_confirmation, organization, changed))
        logger.info(
            "program opt-out recorded",
            extra={"inbound": str(message.id), "programs": [p.slug for p in changed]},
        )


def _opt_in(message: InboundMessage, programs, people: list) -> None:
    organization = message.organization
    lifted, _ = OptOut.objects.filter(organization=organization, phone_number=message.originator).delete()
    if not people:
        # A number that is none of the organization's people: stored, answered as configured,
        # no person created (docs/consent.md).
        text = organization.opt_in_confirmation if lifted else organization.unknown_number_reply
        reply(message, render(text, organization, ()))
        logger.info("opt-in keyword from an unknown number", extra={"inbound": str(message.id)})
        return
    changed = _ledger(message, people, programs, ConsentStatus.OPTED_IN)
    if changed:
        reply(message, render(organization.consent_confirmation, organization, changed))
    elif lifted:
        reply(message, organization.opt_in_confirmation)
    if changed or lifted:
        logger.info("opt-in recorded", extra={"inbound": str(message.id), "phone": phone_ref(message.originator)})


def _ledger(message: InboundMessage, people: list, programs, status: str) -> list:
    """Record `status` for every person at the number and program; the programs that changed."""
    changed = []
    for program in programs:
        for person in people:
            record = consent_record(
                organization=message.organization,
                person=person,
                program=program,
                status=status,
                source=ConsentSource.SMS,
                text=program.consent_text if status == ConsentStatus.OPTED_IN else message.text,
                note=f"reply: {message.text}"[:500] if status == ConsentStatus.OPTED_IN else "",
                inbound_message_id=message.id,
                skip_unchanged=True,
            )
            if record is not None and program not in changed:
                changed.append(program)
    return changed


class _Blank(dict):
    def __missing__(self, key):
        return "{" + key + "}"


def render(text: str, organization, programs) -> str:
    """An organization's confirmation text with {organization} and {programs} filled in."""
    names = ", ".join(p.name for p in programs) or "messages"
    try:
        return text.format_map(_Blank(organization=organization.name, programs=names))
    except (ValueError, IndexError, AttributeError):  # stray braces: the text as written
        return text


def help_answer(organization) -> str:
    """HELP: the organization's help text, starting with its name and ending with its contact."""
    text = render(organization.help_text, organization, ())
    if organization.name and not text.startswith(organization.name):
        text = f"{organization.name}: {text}"
    contact = organization.help_contact.strip()
    if contact and contact not in text:
        text = f"{text} Contact: {contact}"
    return text


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
