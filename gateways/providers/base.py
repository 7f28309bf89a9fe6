"""The adapter interface every provider implements, and the value objects it speaks.

An adapter knows its gateway's configuration and one provider's wire format. It never
queries the database: the pipeline (messaging.services) claims, records and retries.
"""

import abc
import hmac
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Protocol

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from gateways.exceptions import WebhookValidationError
from gateways.providers.settings import ProviderSettings
from smsportal.phones import InvalidPhoneNumber, to_e164


class GatewayRecord(Protocol):
    """What an adapter reads of its gateway (gateways.models.Gateway): its settings, never the database."""

    pk: Any
    uid: str
    config: dict
    secrets: dict
    max_sms_length: int | None

    def webhook_tokens(self) -> list[str]: ...


@dataclass(frozen=True)
class Capabilities:
    """What a provider can do; the dispatcher sizes batches and concurrency from it."""

    max_batch_size: int = 1
    max_length: int = 1600
    delivery_reports: bool = True
    inbound: bool = True
    # The provider deduplicates on our reference, so a send interrupted mid-call may be retried.
    dedupes_on_reference: bool = False
    # Parallel requests within one batch, for providers that take one message per request.
    concurrency: int = 1
    # The provider answers "do you have this message?" (ProviderAdapter.status_lookup).
    status_lookup: bool = False
    # Pull mode: the provider (a CHT gateway phone) polls us for its messages; dispatch never pushes
    # to it, its messages wait `queued` for the poll (messaging/services/pull.py).
    pull: bool = False
    # The provider's throughput limits count segments, not messages (rate limits pace in segments).
    counts_segments: bool = False


@dataclass(frozen=True)
class OutboundSms:
    """One message to send. `reference` is our message id (UUID string)."""

    reference: str
    to: str  # E.164
    text: str
    sender: str = ""  # our number / sender id for this destination, when the gateway has one
    valid_until: datetime | None = None  # not to be delivered after this (providers with a validity period)
    segments: int = 1  # SMS parts of `text` (smsportal/text.py), for segment-counted rate limits


@dataclass(frozen=True)
class SendResult:
    """The provider's answer for one message of a batch."""

    reference: str
    accepted: bool
    provider_message_id: str = ""
    result_code: str = "RESULT_CODE_0"  # DHIS2 GatewayResponse name
    error: str = ""  # provider error code/text; never contains the body or number
    temporary: bool = False  # not accepted, but worth retrying
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InboundSms:
    """A reply as the provider delivered it, normalised."""

    sender: str  # E.164 where the provider gives a full number
    recipient: str
    text: str
    provider_message_id: str
    received_at: datetime | None = None
    previous_published_message_id: str = ""  # the provider's link to our outbound message, if any
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class StatusUpdate:
    """A delivery report. `status` is a messaging.models.OutboundMessage.Status value."""

    provider_message_id: str
    status: str
    error_code: str = ""
    error_text: str = ""
    occurred_at: datetime | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)
    reference: str = ""  # our message id (or its prefix) when the report carries it


@dataclass(frozen=True)
class LookupAnswer:
    """What a provider's status lookup says about one message: its id and our status for it, or
    (empty id) that the provider provably never received it."""

    provider_message_id: str = ""
    status: str = ""


class ProviderAdapter(abc.ABC):
    """Speaks one provider's API for one configured gateway."""

    type: ClassVar[str]  # Gateway.type; also its DHIS2 type name and typed route
    label: ClassVar[str]  # how the admin and the API's choices name it
    # More DHIS2 typed routes (/api/gateways/<route>) and type names for this provider.
    routes: ClassVar[tuple[str, ...]] = ()
    aliases: ClassVar[tuple[str, ...]] = ()  # accepted in a gateway's `type` only
    capabilities: ClassVar[Capabilities] = Capabilities()
    # The settings a gateway of this type is configured with: validation and the admin form read it.
    config_spec: ClassVar[ProviderSettings] = ProviderSettings()
    # The provider signs its callbacks (verify_request checks that): its webhook URLs carry no token.
    signed_webhooks: ClassVar[bool] = False

    # The provider's API takes our webhook URLs (gateways.services.gateway_webhooks_register).
    registers_webhooks: ClassVar[bool] = False

    def __init__(self, gateway: GatewayRecord):
        self.gateway = gateway

    @classmethod
    def route_names(cls) -> tuple[str, ...]:
        return (cls.type, *cls.routes)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return (*cls.route_names(), *cls.aliases)

    @classmethod
    def own_numbers(cls, config: Mapping[str, Any]) -> list[str]:
        """E.164 numbers a gateway receives on by its configuration alone (replies come back to them)."""
        return []

    def webhook_url(self, kind: str, *, base_url: str | None = None) -> str:
        """The public URL the provider calls for `kind` ("inbound" or "status"), with the current
        token unless the provider signs its callbacks."""
        base = (base_url or settings.SMSPORTAL_PUBLIC_BASE_URL).rstrip("/")
        url = f"{base}{reverse(f'gateways:{kind}', kwargs={'gateway_uid': self.gateway.pk})}"
        tokens = [] if self.signed_webhooks else self.gateway.webhook_tokens()
        return f"{url}?token={tokens[0]}" if tokens else url

    @abc.abstractmethod
    def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        """Send up to `capabilities.max_batch_size` messages; one SendResult per message, same order.

        Raise GatewayTemporaryError when the provider provably accepted none of them and a retry
        may succeed, GatewayRejectedError when it refused them all for good, and
        GatewayAmbiguousError when it is unknown whether the provider accepted them.
        """

    def status_lookup(
        self, messages: Sequence[OutboundSms], *, since: datetime, recorded: Callable[[list[str]], set[str]]
    ) -> dict[str, LookupAnswer]:
        """Ask the provider about messages whose outcome is unknown (sent since `since`).

        One LookupAnswer per reference the provider can answer for; a reference left out is
        undecided. Only for adapters whose capabilities say `status_lookup`. `recorded(ids)`: which
        of these provider ids this gateway's messages already carry (the pipeline's records).
        """
        return {}

    def webhooks_register(self, urls: Mapping[str, str]) -> list[dict]:
        """Register our webhook URLs (`{"inbound": …, "status": …}`) with the provider; only for
        adapters with `registers_webhooks`."""
        raise NotImplementedError

    def parse_inbound(self, request: HttpRequest) -> list[InboundSms]:
        """The replies carried by an inbound webhook request (may be several, or none)."""
        return []

    def parse_status(self, request: HttpRequest) -> list[StatusUpdate]:
        """The delivery reports carried by a status webhook request."""
        return []

    def verify_request(self, request: HttpRequest, *, kind: str) -> None:
        """Raise WebhookValidationError unless the request really comes from the provider.

        Default: a per-gateway secret, in the URL path, the `token` query parameter or the
        `X-Smsportal-Token` header; any of the gateway's current tokens is valid (rotation).
        """
        supplied = (
            getattr(request, "webhook_path_token", None)
            or request.GET.get("token")
            or request.headers.get("X-Smsportal-Token")
            or ""
        )
        if not any(hmac.compare_digest(supplied.encode(), str(t).encode()) for t in self.gateway.webhook_tokens()):
            raise WebhookValidationError("webhook token missing or wrong")

    def webhook_response(self, kind: str) -> HttpResponse:
        return HttpResponse(status=200)


def same_text_groups(
    messages: Sequence[OutboundSms], size: int, *, default_sender: str = ""
) -> Iterator[tuple[str, str, list[OutboundSms]]]:
    """(text, sender, messages) of at most `size` messages sharing text and sender (`default_sender`
    for those without one), in order of first appearance: one request's worth for a provider that
    sends one text to many numbers."""
    groups: dict[tuple[str, str], list[OutboundSms]] = {}
    for m in messages:
        groups.setdefault((m.text, m.sender or default_sender), []).append(m)
    for (text, sender), group in groups.items():
        for start in range(0, len(group), size):
            yield text, sender, group[start : start + size]


def from_number(config: Mapping[str, Any]) -> list[str]:
    """`own_numbers` of a provider whose `from` setting may be a phone number (else a sender id or
    service id, which receives nothing): that number, in E.164."""
    sender = str(config.get("from") or "")
    try:
        return [to_e164(sender)] if sender.startswith("+") else []
    except InvalidPhoneNumber:
        return []
