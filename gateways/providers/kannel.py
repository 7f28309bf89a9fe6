"""Kannel (https://www.kannel.org/doc.shtml), and through it any operator's SMPP, EMI/UCP or modem link.

Send: one `GET {urlTemplate}` (smsbox's `/cgi-bin/sendsms`) per message with the sendsms-user's
`username`/`password`, `from`, `to`, `text` (UTF-8; `coding=2` with `charset=UTF-8` when the text
needs UCS-2), `dlr-mask=31` and a `dlr-url` that is this gateway's status URL carrying our message
id and Kannel's `%d` (report type) and `%A` (the SMSC's answer); `validity` (minutes) when the
message has a deadline. Kannel answers `202 0: Accepted for delivery` or `3: Queued for later
delivery`; it keeps no id of its own that a report would carry, so our id is the provider id.
Delivery reports: type 1 delivered, 2 failed at the phone, 4 buffered on the SMSC, 8 accepted by
the SMSC, 16 rejected by the SMSC. Replies: an `sms-service` whose `get-url`/`post-url` is this
gateway's inbound URL with `%p %P %a %t %T %i %I` (docs/gateways.md shows the configuration). Kannel
signs nothing: the per-gateway token in both URLs authenticates the callbacks.
"""

import hashlib
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.http import HttpRequest

from gateways.providers.base import Capabilities, InboundSms, OutboundSms, SendResult, StatusUpdate, from_number
from gateways.providers.httpbase import RequestsAdapter, result_code_for_status
from gateways.providers.settings import ProviderSettings, Setting
from gateways.providers.webhooks import normalise_number, parse_timestamp, request_fields
from smsportal.input_safety import HostileInput
from smsportal.text import text_info

REFERENCE_PARAM = "ref"  # our message id, in each message's dlr-url
DLR_MASK = 31  # every report type: delivered, failed, buffered, SMSC accepted, SMSC rejected
# Kannel DLR type (%d) → ours (status, error code). 4 (buffered) and 8 (accepted by the SMSC) both
# say the operator has it, which is what `sent` means here.
DLR_STATUS = {
    1: ("delivered", ""),
    2: ("undelivered", "DLR_FAILED"),
    4: ("sent", ""),
    8: ("sent", ""),
    16: ("failed", "SMSC_REJECTED"),
}
# What sms-service URL fields we read (names in the documented get-url; docs/gateways.md).
INBOUND_FIELDS = {"sender": "from", "recipient": "to", "text": "text", "id": "id", "time": "time", "ts": "ts"}


def kannel_validity_minutes(valid_until: datetime | None, *, now: datetime | None = None) -> int | None:
    """Kannel's `validity` is minutes from now; a deadline already past still gets 1 (the pipeline
    expires such messages before they reach the adapter)."""
    if valid_until is None:
        return None
    seconds = (valid_until - (now or datetime.now(UTC))).total_seconds()
    return max(1, math.ceil(seconds / 60))


class KannelAdapter(RequestsAdapter):
    """Kannel smsbox sendsms interface: one message per request, several requests in parallel."""

    type = "kannel"
    label = "Kannel (SMPP)"
    capabilities = Capabilities(max_batch_size=1, max_length=1600, delivery_reports=True, inbound=True, concurrency=8)
    config_spec = ProviderSettings(
        (
            Setting(
                "urlTemplate",
                "Sendsms URL",
                "smsbox's send interface, e.g. https://kannel.example.org:13013/cgi-bin/sendsms (the smsbox "
                "group's sendsms-port). Private addresses are refused unless the platform allows them.",
                kind="url",
                required=True,
            ),
            Setting("username", "Username", "A sendsms-user group's username.", required=True),
            Setting("password", "Password", "That sendsms-user's password.", secret=True, required=True),
            Setting(
                "from",
                "Sender",
                "The number or sender id messages go out from when none is chosen per message (Kannel's "
                "`from`); empty: the sendsms-user's default.",
            ),
            Setting(
                "smsc",
                "SMSC id",
                "Route through this smsc-id only (Kannel's `smsc` parameter); empty: Kannel's own routing.",
                section="Advanced",
            ),
        ),
        description="Kannel's smsbox, the open-source gateway in front of an operator's SMPP (or EMI/UCP, modem) "
        "link. smsportal sends through its sendsms interface and receives delivery reports and replies over HTTP.",
        webhooks_hint="Delivery reports need nothing: each message carries its dlr-url. For replies add an "
        "sms-service group whose get-url is the inbound URL followed by "
        "&from=%p&to=%P&text=%a&time=%t&ts=%T&smsc=%i&id=%I and max-messages = 0 (docs/gateways.md).",
    )

    @classmethod
    def own_numbers(cls, config) -> list[str]:
        """A `from` that is a phone number is where replies to its messages come back."""
        return from_number(config)

    def _params(self, message: OutboundSms, callback: str) -> dict[str, str]:
        config = self.gateway.config
        params = {
            "username": str(config.get("username") or ""),
            "password": self.secret("password"),
            "to": message.to,
            "text": message.text,
            "charset": "UTF-8",
            "dlr-mask": str(DLR_MASK),
        }
        sender = message.sender or str(config.get("from") or "")
        if sender:
            params["from"] = sender
        if text_info(message.text).encoding == "UCS-2":
            params["coding"] = "2"
        if config.get("smsc"):
            params["smsc"] = str(config["smsc"])
        if callback:
            separator = "&" if "?" in callback else "?"
            reference = urlencode({REFERENCE_PARAM: message.reference})
            # %d and %A are Kannel's: it fills them in when it calls the URL back.
            params["dlr-url"] = f"{callback}{separator}{reference}&type=%d&answer=%A"
        validity = kannel_validity_minutes(message.valid_until)
        if validity is not None:
            params["validity"] = str(validity)
        return params

    def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        callback = self.webhook_url("status") if self.gateway.pk is not None else ""

        def send_one(message: OutboundSms) -> SendResult:
            response = self.request("GET", self.base_url, params=self._params(message, callback))
            return SendResult(
                reference=message.reference,
                accepted=True,
                # Kannel's answer names no message id; its reports carry ours (the dlr-url's `ref`).
                provider_message_id=message.reference,
                result_code=result_code_for_status(response.status_code),
            )

        return self.map_concurrent(send_one, messages)

    def error_detail(self, response) -> str:
        # Kannel's error bodies are one short line, e.g. "Authorization failed for sendsms".
        return f": {response.text.strip()[:120]}" if response.content else ""

    # -- webhooks --------------------------------------------------------------------------

    def parse_status(self, request: HttpRequest) -> list[StatusUpdate]:
        fields = request_fields(request)
        reference = str(fields.get(REFERENCE_PARAM) or "").strip()
        if not reference:
            raise HostileInput(REFERENCE_PARAM, "the dlr-url's message id is missing")
        try:
            kind = int(str(fields.get("type") or ""))
        except ValueError:
            raise HostileInput("type", "Kannel's report type (%d) must be a number") from None
        if kind not in DLR_STATUS:
            return []  # a type Kannel may add later: acknowledged, nothing changes
        status, error_code = DLR_STATUS[kind]
        answer = str(fields.get("answer") or "")[:200]
        return [
            StatusUpdate(
                provider_message_id=reference,
                status=status,
                error_code=error_code,
                error_text=f"Kannel DLR {kind}: {answer}".rstrip(": ") if error_code else "",
                raw={"type": kind},
                reference=reference,
            )
        ]

    def parse_inbound(self, request: HttpRequest) -> list[InboundSms]:
        fields = request_fields(request)
        sender, text = fields.get(INBOUND_FIELDS["sender"]), fields.get(INBOUND_FIELDS["text"])
        if not sender:
            raise HostileInput(INBOUND_FIELDS["sender"], "the sender (%p) is missing")
        if text is None:
            raise HostileInput(INBOUND_FIELDS["text"], "the text (%a) is missing")
        # %T is Unix time; %t is "YYYY-MM-DD HH:MM[:SS]" in the box's clock, read as UTC.
        received_at = parse_timestamp(fields.get(INBOUND_FIELDS["ts"])) or parse_timestamp(
            fields.get(INBOUND_FIELDS["time"])
        )
        provider_id = str(fields.get(INBOUND_FIELDS["id"]) or "")
        if not provider_id:
            # Without %I a redelivered request must still be stored once: name it by its content.
            seed = "\x1f".join(str(fields.get(k) or "") for k in ("from", "to", "text", "time", "ts", "smsc"))
            provider_id = "kannel-" + hashlib.sha256(seed.encode()).hexdigest()[:32]
        return [
            InboundSms(
                sender=normalise_number(sender),
                recipient=normalise_number(fields.get(INBOUND_FIELDS["recipient"])),
                text=str(text),
                provider_message_id=provider_id,
                received_at=received_at,
                raw={"smsc": str(fields.get("smsc") or "")},
            )
        ]
