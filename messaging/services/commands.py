"""Commands a reply can carry: opt-out/opt-in/help (built in, matched by keywords.py) and the
keyword's automatic answer, plus reply correlation (which sent message a reply answers).

Every answer is a template of the organization in the language of the person at the number
(person → organization default → English; an unknown number: the organization's default), the
organization's own confirmation and HELP settings standing in for the built-in English texts.

Opt-outs and opt-ins are recorded twice: the number-wide OptOut the send path refuses (STOP
without a program), and the consent ledger of every person of the organization at that number
(entities/consent.py). Each is confirmed once: a command that changes nothing is not answered.
"""

import logging

from entities.consent import consent_record
from entities.models import ConsentSource, ConsentStatus
from messaging.exceptions import MessageRejected
from messaging.message_templates import TemplateKind, render, template_render
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
        reply(message, help_answer(message, people), ignore_opt_out=True)  # CTIA: HELP is always answered


def _opt_out(message: InboundMessage, people: list, programs) -> None:
    organization = message.organization
    if OptOut.objects.filter(organization=organization, phone_number=message.originator).exists():
        return  # already opted out: no second confirmation (FCC: at most one)
    # The one confirmation STOP gets (checked above: not already opted out).
    text = _answer(
        message,
        TemplateKind.OPT_OUT,
        people,
        default=organization.opt_out_confirmation,
        keyword=_undo(organization, "opt_in"),
    )
    reply(message, text, ignore_opt_out=True)
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
        default = organization.program_opt_out_confirmation
        keyword = _undo(organization, "opt_in")
        reply(
            message,
            _answer(message, TemplateKind.PROGRAM_OPT_OUT, people, default=default, programs=changed, keyword=keyword),
        )
        logger.info(
            "program opt-out recorded",
            extra={"inbound": str(message.id), "programs": [p.slug for p in changed]},
        )


def _opt_in(message: InboundMessage, programs, people: list) -> None:
    organization = message.organization
    lifted, _ = OptOut.objects.filter(organization=organization, phone_number=message.originator).delete()
    keyword = _undo(organization, "opt_out")
    if not people:
        # A number that is none of the organization's people: stored, answered as configured (in
        # the organization's default language), no person created (docs/consent.md).
        if lifted:
            reply(
                message,
                _answer(message, TemplateKind.OPT_IN, [], default=organization.opt_in_confirmation, keyword=keyword),
            )
        else:
            reply(
                message,
                render(
                    organization.unknown_number_reply,
                    organization=organization.name,
                    program="messages",
                    programs="messages",
                ),
            )
        logger.info("opt-in keyword from an unknown number", extra={"inbound": str(message.id)})
        return
    changed = _ledger(message, people, programs, ConsentStatus.OPTED_IN)
    if changed:
        default = organization.consent_confirmation
        reply(
            message,
            _answer(message, TemplateKind.CONFIRMATION, people, default=default, programs=changed, keyword=keyword),
        )
    elif lifted:
        reply(
            message,
            _answer(message, TemplateKind.OPT_IN, people, default=organization.opt_in_confirmation, keyword=keyword),
        )
    if changed or lifted:
        logger.info("opt-in recorded", extra={"inbound": str(message.id), "phone": phone_ref(message.originator)})


def _undo(organization, kind: str) -> str:
    """`{keyword}` in a consent answer: the first keyword of the command that undoes it."""
    return next(iter(organization.keywords(kind)), "")


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


def _answer(message: InboundMessage, kind: str, people: list, *, default: str, programs=(), **values) -> str:
    """A consent/HELP answer through the organization's templates (messaging/message_templates.py),
    in the language of the person at the number (the first, when several share it; none: the
    organization's default). The organization's own setting (`default`) stands in for the built-in
    English text; "" there means no answer."""
    person = people[0] if people else None
    names = ", ".join(p.name for p in programs) or "messages"
    return template_render(
        message.organization,
        kind,
        getattr(person, "locale", ""),
        default=default,
        first_name=getattr(person, "first_name", "") if len(people) == 1 else "",
        program=names,
        **values,
    )


def help_answer(message: InboundMessage, people: list) -> str:
    """HELP: the organization's help text, starting with its name and ending with its contact."""
    organization = message.organization
    contact = organization.help_contact.strip()
    text = _answer(message, TemplateKind.HELP, people, default=organization.help_text, contact=contact)
    if organization.name and not text.startswith(organization.name):
        text = f"{organization.name}: {text}"
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
