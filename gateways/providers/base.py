"""The adapter interface every provider implements, and the value objects it speaks.

An adapter knows its gateway's configuration and one provider's wire format. It never
queries the database: the pipeline (messaging.services) claims, records and retries.
"""

import abc
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from django.http import HttpRequest, HttpResponse

from gateways.exceptions import WebhookValidationError
from gateways.providers.settings import ProviderSettings

if TYPE_CHECKING:
    from gateways.models import Gateway


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
    segments: int = 1  # SMS parts of `text` (messaging/text.py), for segment-counted rate limits
    # Not to be delivered after this (aware datetime): providers with a validity period get it.
    valid_until: datetime | None = None


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

    type: ClassVar[str]
    capabilities: ClassVar[Capabilities] = Capabilities()
    # The settings a gateway of this type is configured with: validation and the admin form read it.
    config_spec: ClassVar[ProviderSettings] = ProviderSettings()

    def __init__(self, gateway: "Gateway"):
        self.gateway = gateway

    @abc.abstractmethod
    def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        """Send up to `capabilities.max_batch_size` messages; one SendResult per message, same order.

        Raise GatewayTemporaryError when the provider provably accepted none of them and a retry
        may succeed, GatewayRejectedError when it refused them all for good, and
        GatewayAmbiguousError when it is unknown whether the provider accepted them.
        """

    def status_lookup(self, messages: Sequence[OutboundSms], *, since: datetime) -> dict[str, LookupAnswer]:
        """Ask the provider about messages whose outcome is unknown (sent since `since`).

        One LookupAnswer per reference the provider can answer for; a reference left out is
        undecided. Only for adapters whose capabilities say `status_lookup`.
        """
        return {}

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
