"""What the simulator keeps: the requests it received and the messages it accepted.

Tests count these to prove what really reached a provider (`ProviderSimulator.received`), and
delivery reports and replies are built from the accepted messages.
"""

import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs


@dataclass
class RecordedRequest:
    """One send request the simulator received, as it arrived."""

    provider: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)


@dataclass
class SentMessage:
    """A message the simulator accepted, with what it needs to report on it later."""

    provider: str
    provider_message_id: str
    to: str
    text: str
    sender: str = ""
    reference: str = ""
    status_url: str = ""  # only Twilio sends carry their own (StatusCallback)
    account_sid: str = ""
    auth_token: str = ""  # Twilio signs its callbacks with the token the send was made with
    created: str = field(default_factory=lambda: time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()))


@dataclass
class IncomingReply:
    """A patient's reply the simulator posts to smsportal; each provider module renders it in its format."""

    sender: str
    recipient: str
    text: str
    reply_id: str  # the same id twice simulates a provider retrying its webhook
    related_message_id: str = ""
    auth_token: str = ""
    account_sid: str = "AC00000000000000000000000000000000"


class NoStatusUrl(ValueError):
    """A delivery report for a provider whose status URL was never given (Twilio carries its own)."""

    def __init__(self, provider: str):
        super().__init__(f"no status URL known for {provider}: give --status-url {provider}=<statusUrl>")
        self.provider = provider
