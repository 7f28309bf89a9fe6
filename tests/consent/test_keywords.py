"""What counts as STOP, YES and HELP (messaging/services/keywords.py; the rule in docs/consent.md)."""

import pytest

from entities.models import Organization
from messaging.services.keywords import command_match, normalize_words


class Program:
    def __init__(self, keyword):
        self.keyword = keyword


REMINDERS = Program("REMINDERS")
PROGRAMS = [REMINDERS, Program("")]


def match(text, organization=None):
    return command_match(normalize_words(text), organization=organization or Organization(), programs=PROGRAMS)


@pytest.mark.parametrize(
    "text",
    [
        "STOP", "stop", "Stop.", "STOP!!", " stop ", "stop please", "Please stop", "STOP NOW", "stop texting me",
        "Stop sending me messages", "QUIT", "End", "REVOKE", "opt out", "Opt-out", "OPTOUT", "cancel", "Unsubscribe",
        "STOPALL", "STOP ALL", "ｓｔｏｐ", "s\u200btop", "stop it thanks",
    ],
)  # fmt: skip
def test_every_fcc_revocation_form_is_an_opt_out_of_everything(text):
    command = match(text)
    assert command is not None and command.kind == "opt_out" and command.programs == ()


@pytest.mark.parametrize(
    "text",
    [
        "don't stop the reminders", "Do not stop", "stopped taking it", "I stopped", "stopping now",
        "cancel my appointment", "quit smoking", "the pills made me stop eating", "unstoppable",
        "stop stop stop stop stop stop stop stop stop",
    ],
)  # fmt: skip
def test_stop_inside_an_ordinary_reply_is_not_a_command(text):
    assert match(text) is None


@pytest.mark.parametrize("text", ["STOP REMINDERS", "stop the reminders please", "Reminders stop"])
def test_a_program_keyword_narrows_stop_to_that_program(text):
    command = match(text)
    assert command.kind == "opt_out" and command.programs == (REMINDERS,)


def test_stop_all_reminders_is_everything():
    assert match("STOP ALL REMINDERS").programs == ()


def test_localized_keywords_are_added_to_the_standard_set():
    organization = Organization(opt_out_keywords=["arrêt", "BAJA"], opt_in_keywords=["OUI", "ALTA"])
    assert match("Arrêt", organization).kind == "opt_out"
    assert match("baja por favor", organization) is None  # filler words are English only
    assert match("BAJA", organization).kind == "opt_out"
    assert match("STOP", organization).kind == "opt_out"  # never switched off
    assert match("oui", organization).kind == "opt_in"
    assert match("YES", organization) is None  # opt-in keywords are the organization's own list


def test_opt_in_and_help():
    assert match("YES").kind == "opt_in" and match("YES").programs == ()
    assert match("yes reminders").programs == (REMINDERS,)
    assert match("Start").kind == "opt_in"
    assert match("help").kind == "help" and match("HELP please").kind == "help"
    assert match("yes I took it") is None
