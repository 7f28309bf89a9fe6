"""CHT gateway (cht-gateway, formerly medic-gateway): an Android phone with a SIM that polls us.

The wire format is the app's README (github.com/medic/cht-gateway, "API"): one URL per gateway,
HTTP Basic auth, `GET` → `{"medic-gateway": true}`; `POST` carries
`{"messages": [{id, from, content, sms_sent, sms_received}], "updates": [{id, status, reason}]}`
and is answered with `{"messages": [{id, to, content}]}`, the messages waiting for the phone.
Lists may be absent or null. The phone ignores a message id it already has, so a message it did not
confirm is safely offered again; it may repeat inbound messages and status updates.

Pull mode: dispatch never calls `send_batch`; the view (messaging/views_pull.py) hands this adapter's
parsed request (`parse_poll`) to messaging/services/pull.py, which stores, applies and claims.
"""

import base64
import binascii
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from gateways.exceptions import GatewayTemporaryError, WebhookValidationError
from gateways.providers.base import Capabilities, InboundSms, OutboundSms, ProviderAdapter, SendResult, StatusUpdate
from gateways.providers.settings import ProviderSettings, Setting
from gateways.providers.webhooks import request_json
from smsportal.input_safety import HostileInput

# The phone's status names → ours. PENDING: the phone has handed it to its network (for us the
# provider accepted it); SENT: the recipient's network has it.
STATUSES = {"PENDING": "sent", "SENT": "sent", "DELIVERED": "delivered", "FAILED": "failed"}
MAX_ITEMS = 500  # messages + updates per request; a phone sends a few dozen at most
MAX_ID = 128


class ChtGatewayInputError(HostileInput):
    """A POST that is not the documented shape: 400 naming the field, nothing stored."""


@dataclass(frozen=True)
class PollRequest:
    """One POST of the phone, validated: replies to store and status updates to apply."""

    inbound: list[InboundSms] = field(default_factory=list)
    updates: list[StatusUpdate] = field(default_factory=list)


def _items(data: dict, name: str) -> list[dict]:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ChtGatewayInputError(name, f"{name} must be a list")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise ChtGatewayInputError(f"{name}[{i}]", "must be an object")
    return value


def _text(item: dict, key: str, where: str, *, required: bool = True, limit: int = 2000) -> str:
    value = item.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > limit:
        raise ChtGatewayInputError(f"{where}.{key}", f"{key} must be a non-empty string of at most {limit} characters")
    return value


def _millis(item: dict, key: str, where: str) -> datetime | None:
    value = item.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 10**14:
        raise ChtGatewayInputError(f"{where}.{key}", f"{key} must be milliseconds since the Unix epoch")
    return datetime.fromtimestamp(value / 1000, tz=UTC)


def poll_request_parse(request: HttpRequest) -> PollRequest:
    """The phone's POST body, or ChtGatewayInputError naming the first bad field (all or nothing)."""
    if not request.body:
        return PollRequest()  # a bare poll
    data = request_json(request)
    if not isinstance(data, dict):
        raise ChtGatewayInputError("body", "the body must be a JSON object")
    messages, updates = _items(data, "messages"), _items(data, "updates")
    if len(messages) + len(updates) > MAX_ITEMS:
        raise ChtGatewayInputError("body", f"at most {MAX_ITEMS} messages and updates per request")
    inbound = []
    for i, item in enumerate(messages):
        where = f"messages[{i}]"
        inbound.append(
            InboundSms(
                sender=_text(item, "from", where, limit=32).strip(),
                recipient="",
                text=_text(item, "content", where, limit=10_000),
                provider_message_id=_text(item, "id", where, limit=MAX_ID),
                received_at=_millis(item, "sms_received", where) or _millis(item, "sms_sent", where),
            )
        )
    parsed = []
    for i, item in enumerate(updates):
        where = f"updates[{i}]"
        reference = _text(item, "id", where, limit=MAX_ID)
        status = item.get("status")
        if status not in STATUSES:
            raise ChtGatewayInputError(f"{where}.status", "status must be one of " + ", ".join(STATUSES))
        reason = _text(item, "reason", where, required=False, limit=300)
        parsed.append(
            StatusUpdate(
                provider_message_id=reference,
                status=STATUSES[status],
                error_code=status if status == "FAILED" else "",
                error_text=reason,
                reference=reference,
            )
        )
    return PollRequest(inbound=inbound, updates=parsed)


class ChtGatewayAdapter(ProviderAdapter):
    type = "cht_gateway"
    label = "CHT gateway (Android phone, polls us)"
    routes = ("chtgateway",)
    aliases = ("medic-gateway", "medic_gateway")
    signed_webhooks = True  # HTTP Basic authenticates the phone: its URL carries no token
    # One poll answers up to max_batch_size messages; the phone dedupes on our id.
    capabilities = Capabilities(max_batch_size=50, dedupes_on_reference=True, pull=True, counts_segments=True)
    config_spec = ProviderSettings(
        description="An Android phone running the CHT gateway app (cht-gateway, formerly medic-gateway) sends "
        "and receives SMS with its SIM. The phone polls smsportal: put the poll URL below, with this username "
        "and password, in the app's webapp URL (https://username:password@host/webhooks/<uid>/cht-gateway). "
        "A phone that stops polling marks the gateway down and its fallback takes over.",
        settings=(
            Setting("username", "Username", "The user name in the phone's webapp URL.", required=True),
            Setting("password", "Password", "The password in the phone's webapp URL.", secret=True, required=True),
        ),
        webhooks_hint="The phone polls one URL (shown as the inbound URL, ending in /cht-gateway); it has no "
        "separate status URL.",
    )

    def webhook_url(self, kind: str, *, base_url: str | None = None) -> str:
        """The one URL the phone polls, for both directions (shown as the inbound and the status URL)."""
        base = (base_url or settings.SMSPORTAL_PUBLIC_BASE_URL).rstrip("/")
        return f"{base}{reverse('gateways:cht-gateway', kwargs={'gateway_uid': self.gateway.pk})}"

    def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        # Never called by the pipeline (pull mode); a stray call must not lose the messages.
        raise GatewayTemporaryError("pull-mode gateway: messages wait for the phone's poll")

    def verify_request(self, request: HttpRequest, *, kind: str) -> None:
        """HTTP Basic with the gateway's username and (encrypted) password, compared in constant time."""
        header = request.headers.get("Authorization", "")
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic" or not encoded:
            raise WebhookValidationError("basic auth missing")
        try:
            user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise WebhookValidationError("basic auth malformed")
        expected_user = str(self.gateway.config.get("username") or "")
        expected_password = str(self.gateway.secrets.get("password") or "")
        ok_user = hmac.compare_digest(user.encode(), expected_user.encode())
        ok_password = hmac.compare_digest(password.encode(), expected_password.encode())
        if not (sep and expected_user and expected_password and ok_user and ok_password):
            raise WebhookValidationError("basic auth wrong")

    def parse_poll(self, request: HttpRequest) -> PollRequest:
        """The phone's POST, validated all or nothing (ChtGatewayInputError names the field)."""
        return poll_request_parse(request)

    @staticmethod
    def poll_response(messages: Sequence[OutboundSms]) -> dict[str, Any]:
        return {"messages": [{"id": m.reference, "to": m.to, "content": m.text} for m in messages]}
