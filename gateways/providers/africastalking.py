"""Africa's Talking SMS (https://developers.africastalking.com/docs/sms/overview).

Send: `POST {base}/version1/messaging` (live https://api.africastalking.com, sandbox
https://api.sandbox.africastalking.com), form `username`, `to` (comma-separated), `message`,
`from`; the `apiKey` header; `Accept: application/json`. One text to many recipients per request;
the JSON answer lists `SMSMessageData.Recipients[]` with `number`, `status`, `statusCode`,
`messageId`, `cost`. Status codes: 100 processed, 101 sent, 102 queued (accepted); 500 and 501
(Africa's Talking's or the operator gateway's internal error) are worth retrying; every other code
(401 risk hold, 402 invalid sender id, 403 invalid number, 404 unsupported number type, 405
insufficient balance, 406 blacklisted, 407 could not route, 409 do-not-disturb, 502 rejected by
gateway) is a refusal. Delivery reports and incoming messages are form-encoded POSTs to the URLs
set on the dashboard; Africa's Talking signs neither, so the per-gateway token in those URLs
authenticates them.
"""

from collections.abc import Sequence

from django.http import HttpRequest

from gateways.exceptions import GatewayAmbiguousError
from gateways.providers.base import Capabilities, InboundSms, OutboundSms, SendResult, StatusUpdate
from gateways.providers.httpbase import RequestsAdapter, result_code_for_status
from gateways.providers.settings import ProviderSettings, Setting, url_template
from gateways.providers.webhooks import normalise_number, parse_timestamp
from smsportal.input_safety import HostileInput

LIVE_URL = "https://api.africastalking.com"
SANDBOX_URL = "https://api.sandbox.africastalking.com"
SEND_PATH = "/version1/messaging"
MAX_RECIPIENTS = 100
ACCEPTED_CODES = {100, 101, 102}
TEMPORARY_CODES = {500, 501}
# Delivery report `status` → ours; Sent/Submitted/Buffered say the operator has it.
REPORT_STATUS = {
    "sent": "sent",
    "submitted": "sent",
    "buffered": "sent",
    "success": "delivered",
    "failed": "undelivered",
    "absentsubscriber": "undelivered",
    "expired": "undelivered",
    "rejected": "failed",
}


def _code(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class AfricasTalkingAdapter(RequestsAdapter):
    """Africa's Talking bulk SMS API: one text to up to MAX_RECIPIENTS numbers per request."""

    type = "africastalking"
    label = "Africa's Talking"
    capabilities = Capabilities(max_batch_size=MAX_RECIPIENTS, max_length=918, delivery_reports=True, inbound=True)
    config_spec = ProviderSettings(
        (
            Setting(
                "username",
                "Username",
                "Your Africa's Talking application username (“sandbox” for the sandbox).",
                required=True,
            ),
            Setting(
                "apiKey",
                "API key",
                "The application's API key (Settings → API Key on the dashboard).",
                secret=True,
                required=True,
            ),
            Setting(
                "from",
                "Sender",
                "A registered short code or alphanumeric sender id; empty: Africa's Talking's default (AFRICASTKNG).",
            ),
            Setting(
                "sandbox",
                "Sandbox",
                "Send to the sandbox (api.sandbox.africastalking.com) instead of the live API.",
                kind="bool",
            ),
            url_template("Africa's Talking", LIVE_URL),
        ),
        description="Africa's Talking, the SMS aggregator for East and West Africa (CHT's built-in outgoing service).",
        webhooks_hint="On the Africa's Talking dashboard open SMS → SMS Callback URLs: paste the status URL as the "
        "“Delivery Reports” callback and the inbound URL as the “Incoming Messages” callback. Both carry this "
        "gateway's secret token; keep them private.",
    )

    @property
    def base_url(self) -> str:
        override = str(self.gateway.config.get("urlTemplate") or "").strip()
        return override or (SANDBOX_URL if self.gateway.config.get("sandbox") else LIVE_URL)

    def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        groups: dict[tuple[str, str], list[OutboundSms]] = {}
        for m in messages:
            groups.setdefault((m.text, m.sender), []).append(m)
        results: list[SendResult] = []
        for group in groups.values():
            for start in range(0, len(group), MAX_RECIPIENTS):
                results.extend(self._send_group(group[start : start + MAX_RECIPIENTS]))
        return results

    def _send_group(self, group: Sequence[OutboundSms]) -> list[SendResult]:
        config = self.gateway.config
        form = {
            "username": str(config.get("username") or ""),
            "to": ",".join(m.to for m in group),
            "message": group[0].text,
        }
        sender = group[0].sender or str(config.get("from") or "")
        if sender:
            form["from"] = sender
        response = self.request(
            "POST",
            f"{self.base_url.rstrip('/')}{SEND_PATH}",
            data=form,
            headers={"apiKey": self.secret("apiKey"), "Accept": "application/json"},
        )
        try:
            recipients = response.json()["SMSMessageData"]["Recipients"]
        except (ValueError, KeyError, TypeError):
            raise GatewayAmbiguousError("Africa's Talking answered without its Recipients list")
        # Answers are per number; the same number twice in a group is matched in order.
        by_number: dict[str, list[dict]] = {}
        for entry in recipients if isinstance(recipients, list) else []:
            if isinstance(entry, dict):
                by_number.setdefault(normalise_number(entry.get("number")), []).append(entry)
        code = result_code_for_status(response.status_code)
        results = []
        for m in group:
            entries = by_number.get(m.to) or []
            if not entries:
                continue  # no answer for it: recorded `unknown`, never resent blindly
            results.append(self._result(m, entries.pop(0), code))
        return results

    def _result(self, message: OutboundSms, entry: dict, code: str) -> SendResult:
        status_code = _code(entry.get("statusCode"))
        provider_id = str(entry.get("messageId") or "")
        raw = {"statusCode": status_code, "status": entry.get("status"), "cost": entry.get("cost")}
        if status_code in ACCEPTED_CODES:
            return SendResult(
                message.reference, True, provider_id, code if code != "FAILED" else "RESULT_CODE_0", raw=raw
            )
        error = f"{status_code} {str(entry.get('status') or '')[:40]}".strip()
        return SendResult(
            message.reference,
            False,
            provider_id if provider_id != "None" else "",
            "RESULT_CODE_504" if status_code in TEMPORARY_CODES else "FAILED",
            error=error,
            temporary=status_code in TEMPORARY_CODES,
            raw=raw,
        )

    def error_detail(self, response) -> str:
        # Request-level errors are short plain-text lines, e.g. "The supplied authentication is invalid".
        return f": {response.text.strip()[:120]}" if response.content else ""

    # -- webhooks (form-encoded POSTs) --------------------------------------------------------

    def parse_status(self, request: HttpRequest) -> list[StatusUpdate]:
        fields = request.POST.dict() if request.method == "POST" else request.GET.dict()
        provider_id = str(fields.get("id") or "")
        for field in ("id", "status"):
            if not fields.get(field):
                raise HostileInput(field, "missing")
        status = REPORT_STATUS.get(str(fields.get("status") or "").strip().lower())
        if status is None:
            return []  # a status Africa's Talking may add later: acknowledged, nothing changes
        reason = str(fields.get("failureReason") or "")[:64]
        failed = status in ("failed", "undelivered")
        return [
            StatusUpdate(
                provider_message_id=provider_id,
                status=status,
                error_code=(reason or str(fields.get("status"))) if failed else "",
                error_text=f"Africa's Talking: {fields.get('status')} {reason}".strip() if failed else "",
                raw={"networkCode": fields.get("networkCode"), "retryCount": fields.get("retryCount")},
            )
        ]

    def parse_inbound(self, request: HttpRequest) -> list[InboundSms]:
        fields = request.POST.dict() if request.method == "POST" else request.GET.dict()
        sender, text, provider_id = fields.get("from"), fields.get("text"), fields.get("id")
        for field, value in (("from", sender), ("id", provider_id)):
            if not value:
                raise HostileInput(field, "missing")
        if text is None:  # an empty text is a (rare) real message
            raise HostileInput("text", "missing")
        return [
            InboundSms(
                sender=normalise_number(sender),
                recipient=normalise_number(fields.get("to")),
                text=str(text),
                provider_message_id=str(provider_id),
                received_at=parse_timestamp(fields.get("date")),
                raw={"linkId": fields.get("linkId"), "networkCode": fields.get("networkCode")},
            )
        ]
