"""Which built-in command a reply is: opt-out (all messages or some programs), opt-in, help.

The rule (docs/consent.md, "What counts as STOP"), on the reply's words after normalize_words()
(NFKC, upper case, punctuation and zero-width characters removed, so "Stop." and "STOP!!" are STOP):

1. a keyword phrase of the kind (the standard opt-out set plus the organization's own, e.g. ARRET)
   stands at the start or at the end of the reply; inflections are other words (STOPPED ≠ STOP);
2. every other word is a program keyword (STOP REMINDERS) or one of FILLER (please, now, texting,
   me, messages…), and the reply has at most MAX_WORDS words.

So "stop please", "Please STOP", "stop texting me" and "STOP ALL" are opt-outs, while "don't stop
the reminders" (DONT), "stopped taking it" (STOPPED, TAKING) and "cancel my appointment"
(APPOINTMENT) are ordinary replies that reach plugins and staff. A program keyword narrows the
command to that program, unless ALL is also there.
"""

import re
import unicodedata
from dataclasses import dataclass, field

MAX_WORDS = 8

# Words that add nothing to a command: courtesy, "me"/"these", and what the messages are called.
FILLER = frozenset(
    "PLEASE PLS PLZ NOW THANKS THANK YOU THX TY OK OKAY ALL ME MY US IT THIS THESE THEM THAT ANY MORE "
    "THE TO FROM SENDING TEXTING MESSAGING SMS TEXT TEXTS MESSAGE MESSAGES REMINDER REMINDERS ALERT ALERTS "
    "NOTIFICATION NOTIFICATIONS".split()
)


def normalize_words(text: str) -> list[str]:
    """Words for keyword matching: NFKC, upper-case, zero-width characters and punctuation removed."""
    text = unicodedata.normalize("NFKC", text or "")
    text = re.sub(r"[\u200b-\u200f\u2060\ufeff]", "", text).upper()
    return [w for w in (re.sub(r"[^\w]", "", part) for part in text.split()) if w]


@dataclass(frozen=True)
class Command:
    kind: str  # "opt_out", "opt_in" or "help"
    programs: tuple = field(default=())  # ConsentPrograms named by keyword; () = every message


def command_match(words: list[str], *, organization, programs) -> Command | None:
    """The built-in command of a reply's normalized words, or None (see the module's rule)."""
    if not words or len(words) > MAX_WORDS:
        return None
    by_keyword = {p.keyword: p for p in programs if p.keyword}
    for kind in ("opt_out", "opt_in", "help"):
        for phrase in organization.keywords(kind):
            rest = _rest(words, normalize_words(phrase))
            if rest is None:
                continue
            named = [by_keyword[w] for w in rest if w in by_keyword]
            if all(w in FILLER or w in by_keyword for w in rest):
                if kind == "help" or "ALL" in rest:
                    return Command(kind)
                return Command(kind, tuple(dict.fromkeys(named)))
    return None


def _rest(words: list[str], phrase: list[str]) -> list[str] | None:
    """The words around `phrase` when it starts or ends the reply, else None."""
    n = len(phrase)
    if not n or n > len(words):
        return None
    if words[:n] == phrase:
        return words[n:]
    if words[-n:] == phrase:
        return words[:-n]
    return None
