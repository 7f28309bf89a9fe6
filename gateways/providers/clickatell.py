"""Clickatell Platform REST API (https://docs.clickatell.com/channels/sms-rest-api-platform-archived/).

Send: `POST {urlTemplate}` with `Authorization: <API key>` (`authToken`, else DHIS2's `password`),
`X-Version: 1`, JSON `{"content", "to": [numbers without "+"], "from"?, "clientMessageId"?}`;
one content to up to 200 recipients per request, answered 202 with one entry per recipient.
Callbacks are unsigned (the per-gateway token authenticates them). Both the Platform envelope
(flat JSON or GET query) and the newer One API envelope (`event.moText[]`,
`event.messageStatusUpdate[]`) are read; their status codes differ, so the envelope decides.
"""

from collections.abc import Sequence
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest

from gateways.exceptions import ConfigError, GatewayAmbiguousError
from gateways.providers.base import Capabilities, InboundSms, OutboundSms, SendResult, StatusUpdate
from gateways.providers.httpbase import RequestsAdapter, result_code_for_status
from gateways.providers.settings import ProviderSettings, Setting, unused, url_template
from gateways.providers.webhooks import normalise_number, parse_timestamp, request_fields, request_json

DEFAULT_URL = "https://platform.clickatell.com/messages"
MAX_RECIPIENTS = 200

# Platform (legacy numbering) SMS status codes → ours; 1, 2, 8, 11 change nothing (reference B.3).
PLATFORM_STATUS = {3: "sent", 4: "delivered", 7: "undelivered", 10: "undelivered"} | {
    code: "failed" for code in (5, 6, 9, 12, 14)
}
# One API status codes → ours.
ONE_API_STATUS = {4: "sent", 5: "delivered", 6: "delivered", 20: "undelivered", 23: "undelivered"} | {
    code: "failed" for code in (21, 22, 25, 26, 27, 28, 29, 100)
}


def decode_text(text: str, charset: str) -> str:
    """Clickatell percent-escapes ISO-8859-1 and UTF-16BE texts (courier's handler does the same)."""
    charset = (charset or "").upper()
    try:
        if charset == "UTF-16BE":
            return unquote_to_bytes(text).decode("utf-16-be")
        if charset == "ISO-8859-1":
            return unquote_to_bytes(text).decode("latin-1")
    except (UnicodeDecodeError, ValueError):
        return text
    return text


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _key_rule(config: dict, secrets: dict, failed: set) -> None:
    if not (secrets.get("authToken") or secrets.get("password")):
        raise ConfigError("authToken (the Clickatell API key) is required", field="authToken")


class ClickatellAdapter(RequestsAdapter):
    """Clickatell Platform HTTP API: one text to many recipients per request."""

    type = "clickatell"
    label = "Clickatell"
    default_url = DEFAULT_URL
    capabilities = Capabilities(max_batch_size=MAX_RECIPIENTS, max_length=1071, delivery_reports=True, inbound=True)
    config_spec = ProviderSettings(
        (
            Setting(
                "authToken",
                "API key",
                "The API key of your Clickatell Platform REST integration (Clickatell portal → Integrations → "
                "your integration). Sent in the Authorization header.",
                secret=True,
            ),
            Setting(
                "from",
                "Sender number",
                "The two-way number of the integration, in international format (e.g. 27821234567). Empty: "
                "Clickatell uses the integration's default number.",
            ),
            url_template("Clickatell", DEFAULT_URL),
            unused("username"),
            unused("password", secret=True),
            unused("sendUrlParameters", "bool"),
        ),
        description="Clickatell Platform (REST API). Needs a REST integration with two-way messaging on.",
        rules=(_key_rule,),
        webhooks_hint="In the Clickatell portal, open the integration: paste the inbound URL into “Reply "
        "callback URL” and the status URL into “Message status callback URL” (HTTP POST).",
    )

    def api_key(self) -> str:
        # DHIS2 sends `password` as the Authorization header (a bug); we send authToken, else password.
        return self.secret("authToken") or self.secret("password")

    def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        groups: dict[tuple[str, str], list[OutboundSms]] = {}
        for m in messages:
            groups.setdefault((m.text, m.sender or str(self.gateway.config.get("from") or "")), []).append(m)
        results: list[SendResult] = []
        for (text, sender), group in groups.items():
            for start in range(0, len(group), MAX_RECIPIENTS):
                results.extend(self._send_group(text, sender, group[start : start + MAX_RECIPIENTS]))
        return results

    def _send_group(self, text: str, sender: str, group: Sequence[OutboundSms]) -> list[SendResult]:
        body: dict = {"content": text, "to": [m.to.lstrip("+") for m in group]}
        if sender:
            body["from"] = sender.lstrip("+")
        if len(group) == 1:
            body["clientMessageId"] = group[0].reference
        response = self.request(
            "POST",
            self.base_url,
            json=body,
            headers={"Accept": "application/json", "X-Version": "1", "Authorization": self.api_key()},
        )
        try:
            entries = response.json().get("messages") or []
        except (ValueError, AttributeError):
            raise GatewayAmbiguousError("Clickatell accepted the request but its reply is not JSON")
        code = result_code_for_status(response.status_code)
        by_number: dict[str, list[dict]] = {}
        for entry in entries:
            by_number.setdefault(str(entry.get("to") or "").lstrip("+"), []).append(entry)
        results = []
        for m in group:
            candidates = by_number.get(m.to.lstrip("+"))
            if not candidates:
                continue  # not in the reply: the pipeline records it as unknown
            entry = candidates.pop(0)
            if entry.get("accepted") and entry.get("apiMessageId"):
                results.append(
                    SendResult(
                        reference=m.reference,
                        accepted=True,
                        provider_message_id=str(entry["apiMessageId"]),
                        result_code=code,
                    )
                )
            else:
                error = f"{entry.get('errorCode') or ''} {entry.get('error') or 'not accepted'}".strip()
                results.append(SendResult(reference=m.reference, accepted=False, result_code="FAILED", error=error))
        return results

    def error_detail(self, response) -> str:
        try:
            data = response.json()
        except ValueError:
            return ""
        if isinstance(data, dict) and (data.get("error") or data.get("errorCode")):
            return f": {data.get('errorCode') or ''} {str(data.get('error') or '')[:120]}".rstrip()
        return ""

    # -- webhooks --------------------------------------------------------------------------

    def parse_status(self, request: HttpRequest) -> list[StatusUpdate]:
        data = request_json(request)
        if isinstance(data, dict) and isinstance(data.get("event"), dict):
            items, table = data["event"].get("messageStatusUpdate") or [], ONE_API_STATUS
        else:
            items, table = [request_fields(request)], PLATFORM_STATUS
        updates = []
        for item in items:
            if not isinstance(item, dict):
                continue
            code = _int(item.get("statusCode"))
            status = table.get(code) if code is not None else None
            if not item.get("messageId") or status is None:
                continue
            failed = status in ("failed", "undelivered")
            updates.append(
                StatusUpdate(
                    provider_message_id=str(item["messageId"]),
                    status=status,
                    error_code=str(code) if failed else "",
                    error_text=str(item.get("statusDescription") or item.get("status") or code) if failed else "",
                    occurred_at=parse_timestamp(item.get("timestamp")),
                    raw={k: v for k, v in item.items() if k != "token"},
                    reference=str(item.get("clientMessageId") or ""),
                )
            )
        return updates

    def parse_inbound(self, request: HttpRequest) -> list[InboundSms]:
        data = request_json(request)
        if isinstance(data, dict) and isinstance(data.get("event"), dict):
            replies = []
            for item in data["event"].get("moText") or []:
                if not isinstance(item, dict) or not item.get("from"):
                    continue
                replies.append(
                    InboundSms(
                        sender=normalise_number(item.get("from")),
                        recipient=normalise_number(item.get("to")),
                        text=decode_text(str(item.get("content") or ""), str(item.get("charset") or "")),
                        provider_message_id=str(item.get("messageId") or ""),
                        received_at=parse_timestamp(item.get("timestamp")),
                        previous_published_message_id=str(item.get("relatedMessageId") or ""),
                        raw=item,
                    )
                )
            return replies
        fields = request_fields(request)
        if not fields.get("fromNumber") or fields.get("text") is None:
            return []
        # `messageId` is documented as the MT being replied to and `replyMessageId` as the reply's
        # own id; when only messageId is present (as courier sees it) it is the reply's id.
        reply_id = fields.get("replyMessageId")
        return [
            InboundSms(
                sender=normalise_number(fields.get("fromNumber")),
                recipient=normalise_number(fields.get("toNumber")),
                text=decode_text(str(fields.get("text")), str(fields.get("charset") or "")),
                provider_message_id=str(reply_id or fields.get("messageId") or ""),
                received_at=parse_timestamp(fields.get("timestamp")),
                previous_published_message_id=str(fields.get("messageId") or "") if reply_id else "",
                raw={k: v for k, v in fields.items() if k != "token"},
            )
        ]
