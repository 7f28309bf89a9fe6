"""Who may be messaged, beyond a valid number: opt-outs, a program's consent, the exemption guard.

messages_queue() asks `send_rules()` once per send. Without a program (named, or the one covering
the send's source) and without the organization's exemption guard it returns None and the send
keeps its one opt-out lookup (outbound.py). Otherwise `refusals()` answers every question for all
recipients in one statement (a UNION ALL of the opt-out list, the consent table and, for the
guard, the recipients' messages of the last 7 days on the outbox's recipient index): a refused
recipient gets the reason, stored on its `failed` row (docs/consent.md).
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from entities.consent import ConsentError, program_get, programs_of
from entities.models import Consent, ConsentProgram, ConsentStatus
from messaging.exceptions import MessageRejected
from messaging.models import OptOut, OutboundMessage

OPTED_OUT = "opted out"
_CHUNK = 5000  # numbers per statement off PostgreSQL (SQLite's variable limit; PostgreSQL takes one text)


@dataclass(frozen=True)
class SendRules:
    program: ConsentProgram | None
    daily_limit: int | None = None  # the exemption guard's limits, None when the guard is off
    weekly_limit: int | None = None


def send_rules(*, organization, source: str, program=None) -> SendRules | None:
    """The rules a send must pass besides opt-outs, or None. An unknown program is a 400 naming
    `program`. System messages (confirmations, HELP answers) pass no program or guard."""
    if source == OutboundMessage.Source.SYSTEM:
        return None
    if program not in (None, ""):
        try:
            resolved = program_get(organization=organization, program=program)
        except ConsentError as exc:
            raise MessageRejected(exc.message, field="program", code=exc.code) from None
    else:
        resolved = next((p for p in programs_of(organization.pk) if source in (p.sources or ())), None)
    if organization.exempt_mode:
        return SendRules(resolved, organization.exempt_daily_limit, organization.exempt_weekly_limit)
    return SendRules(resolved) if resolved is not None else None


def refusals(*, organization, numbers: list[str], rules: SendRules, ignore_opt_out: bool = False) -> dict[str, str]:
    """E.164 → why it may not be sent this message, for the refused numbers among `numbers`."""
    if not numbers:
        return {}
    opted_out: set[str] = set()
    consent_in: set[str] = set()
    consent_out: set[str] = set()
    day: dict[str, int] = {}
    week: dict[str, int] = {}
    now = timezone.now()
    guard = rules.daily_limit is not None
    step = len(numbers) if connection.vendor == "postgresql" else _CHUNK
    for start in range(0, len(numbers), step):
        for number, kind, value in _rows(organization, numbers[start : start + step], rules, now, ignore_opt_out):
            if kind == "o":
                opted_out.add(number)
            elif kind == "c":
                (consent_in if value == ConsentStatus.OPTED_IN else consent_out).add(number)
            else:
                week[number] = week.get(number, 0) + 1
                if kind == "d":
                    day[number] = day.get(number, 0) + 1
    program = rules.program
    found = {}
    for number in numbers:
        if number in opted_out:
            found[number] = OPTED_OUT
        elif program is not None and number in consent_out:
            found[number] = f"opted out of {program.slug}"
        elif program is not None and program.require_consent and number not in consent_in:
            found[number] = f"no consent for {program.slug}"
        elif guard and number not in consent_in:
            if day.get(number, 0) >= rules.daily_limit:
                found[number] = f"exempt limit: {rules.daily_limit} a day without consent"
            elif week.get(number, 0) >= rules.weekly_limit:
                found[number] = f"exempt limit: {rules.weekly_limit} a week without consent"
    return found


def _rows(organization, numbers: list[str], rules: SendRules, now, ignore_opt_out: bool):
    """(number, kind, value) rows: "o" opted out; "c" a consent status (of the send's program, or
    of any program for the guard alone); "d"/"w" a message in the last day / week (guard only)."""
    q = connection.ops.quote_name
    org = Consent._meta.get_field("organization").get_db_prep_value(organization.pk, connection)
    if connection.vendor == "postgresql":
        match, match_params = "= ANY(string_to_array(%s, ','))", [",".join(numbers)]
    else:
        match, match_params = f"IN ({', '.join(['%s'] * len(numbers))})", list(numbers)
    opt_outs, consents, outbox = (q(m._meta.db_table) for m in (OptOut, Consent, OutboundMessage))
    parts, params = [], []
    if not ignore_opt_out:
        parts.append(
            f"SELECT phone_number, 'o', '' FROM {opt_outs} WHERE organization_id = %s AND phone_number {match}"  # noqa: S608
        )
        params += [org, *match_params]
    consent = f"SELECT phone_number, 'c', status FROM {consents} WHERE organization_id = %s AND phone_number {match}"  # noqa: S608
    if rules.program is not None:
        parts.append(consent + " AND program_id = %s")
        params += [org, *match_params, rules.program.pk]
    elif rules.daily_limit is not None:
        parts.append(consent + " AND status = %s")
        params += [org, *match_params, ConsentStatus.OPTED_IN]
    if rules.daily_limit is not None:
        # The recipient-first outbox index (recipient, organization, -created_at) serves this.
        parts.append(
            f"SELECT recipient, CASE WHEN created_at >= %s THEN 'd' ELSE 'w' END, '' FROM {outbox} "  # noqa: S608
            f"WHERE recipient {match} AND organization_id = %s AND created_at >= %s AND status <> %s AND source <> %s"
        )
        params += [
            connection.ops.adapt_datetimefield_value(now - timedelta(days=1)),
            *match_params,
            org,
            connection.ops.adapt_datetimefield_value(now - timedelta(days=7)),
            OutboundMessage.Status.FAILED,
            OutboundMessage.Source.SYSTEM,
        ]
    if not parts:
        return []
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts), params)  # noqa: S608 — identifiers from the models
        return cursor.fetchall()


def refusal_error(reason: str) -> MessageRejected:
    """A single send's refusal (4xx naming the field) for a refused recipient's reason."""
    if reason == OPTED_OUT:
        return MessageRejected(
            "the recipient has opted out of messages from this organization",
            field="phoneNumber",
            code="opted_out",
            status_code=409,
        )
    if reason.startswith("exempt limit"):
        return MessageRejected(
            f"the recipient has not consented and has reached the organization's {reason[len('exempt limit: ') :]}",
            field="phoneNumber",
            code="exempt_limit",
            status_code=409,
        )
    if reason.startswith("no consent"):
        return MessageRejected(
            f"the recipient has not consented to {reason[len('no consent for ') :]}",
            field="program",
            code="consent_required",
            status_code=409,
        )
    return MessageRejected(f"the recipient has {reason}", field="program", code="opted_out_of_program", status_code=409)
