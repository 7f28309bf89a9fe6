"""Fault modes: answer the next send requests slowly, with an HTTP error, a provider error, or not at all.

The fault suite (tests/faults/) and the adapters' retry tests drive these through
`ProviderSimulator.behave` or `POST /_sim/behave`.
"""

from dataclasses import dataclass


@dataclass
class Behaviour:
    """How to answer the next matching send requests."""

    provider: str | None = None  # None: every provider
    status: int | None = None  # answer with this HTTP status (429, 5xx, 4xx)
    delay: float = 0.0  # seconds before answering
    error_code: str | None = None  # a provider error code in an otherwise normal reply
    times: int | None = None  # how many requests it applies to; None = until reset
    retry_after: str | None = None
    after: int = 0  # let this many matching requests through first
    drop: bool = False  # accept the message, then close the connection without answering


def next_behaviour(behaviours: list[Behaviour], provider: str) -> Behaviour | None:
    """The rule that applies to this send of `provider`, counting it against the rule's budget.

    The caller holds the simulator's lock: concurrent sends must not both consume the last use.
    """
    for rule in behaviours:
        if rule.provider in (None, provider):
            if rule.after > 0:
                rule.after -= 1
                return None
            if rule.times is not None:
                rule.times -= 1
                if rule.times <= 0:
                    behaviours.remove(rule)
            return rule
    return None
