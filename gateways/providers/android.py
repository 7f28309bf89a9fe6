"""SMS Gateway for Android (https://github.com/capcom6/android-sms-gateway, docs.sms-gate.app): an
Android phone with a SIM as the gateway, through the vendor's cloud server, a private server, or
the phone's own local server.

Send: one `POST {urlTemplate}/3rdparty/v1/messages` (cloud, private server) or `POST
{urlTemplate}/message` (local server) per message, HTTP Basic with the credentials the app shows,
JSON `{"id": <our message id>, "textMessage": {"text"}, "phoneNumbers": [to], "withDeliveryReport":
true, "simNumber"?, "deviceId"?, "ttl"?}` (`message` instead of `textMessage` for app versions that
predate it). Our id is the message's id there, so a resend is refused with 409 and counts as
accepted: the phone never sends it twice. Webhooks (registered through the app's `/webhooks` API:
`webhooks_register`): one JSON envelope `{deviceId, event, id, payload, webhookId}` per event,
`sms:received` on the inbound URL and `sms:sent`/`sms:delivered`/`sms:failed` on the status URL,
signed with `X-Signature` = hex HMAC-SHA256(signing key, raw body + `X-Timestamp`) and refused
outside ±5 minutes of our clock.
"""

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from gateways.exceptions import ConfigError, GatewayAmbiguousError, WebhookValidationError
from gateways.providers.base import Capabilities, InboundSms, OutboundSms, SendResult, StatusUpdate
from gateways.providers.httpbase import RequestsAdapter, result_code_for_status
from gateways.providers.settings import ProviderSettings, Setting
from gateways.providers.webhooks import fresh_check, normalise_number, parse_timestamp, request_json
from smsportal.input_safety import HostileInput
from smsportal.phones import InvalidPhoneNumber, to_e164

CLOUD_URL = "https://api.sms-gate.app"
CLOUD_PREFIX = "/3rdparty/v1"
INBOUND_EVENTS = ("sms:received",)
# Event → (our status, the payload's time field).
STATUS_EVENTS = {
    "sms:sent": ("sent", "sentAt"),
    "sms:delivered": ("delivered", "deliveredAt"),
    "sms:failed": ("failed", "failedAt"),
}
MIN_TTL_SECONDS = 5  # the API's minimum


def android_signature(key: str, body: bytes, timestamp: str) -> str:
    """The app's webhook signature: hex HMAC-SHA256 of the raw body followed by the timestamp."""
    return hmac.new(key.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


def webhook_id(gateway_uid: str, event: str) -> str:
    """A stable registration id per gateway and event (≤ 36 characters): registering again
    replaces our webhook instead of adding a second one."""
    return f"sp-{event.replace(':', '-')}-{gateway_uid.replace('-', '')[:16]}"


MODES = ("cloud", "private", "local")


def _mode_rule(config: dict, secrets: dict, failed: set) -> None:
    """Private and local modes name their server (cloud mode uses the vendor's); the country is an
    ISO code; the SIM slot is 1–3."""
    mode = str(config.get("mode") or "cloud")
    if mode not in MODES:
        raise ConfigError("mode must be one of " + ", ".join(MODES), field="mode")
    if mode != "cloud" and not config.get("urlTemplate") and "urlTemplate" not in failed:
        raise ConfigError(f"urlTemplate (the server's address) is required in {mode} mode", field="urlTemplate")
    country = str(config.get("country") or "")
    if country and not (len(country) == 2 and country.isalpha()):
        raise ConfigError("country must be a two-letter ISO 3166-1 code, e.g. KE", field="country")
    if country:
        config["country"] = country.upper()
    sim = config.get("simNumber")
    if sim is not None and "simNumber" not in failed and not 1 <= int(sim) <= 3:
        raise ConfigError("simNumber must be 1, 2 or 3", field="simNumber")


class AndroidAdapter(RequestsAdapter):
    """SMS Gateway for Android: cloud, private-server or local mode; one message per request."""

    type = "android"
    label = "SMS Gateway for Android"
    signed_webhooks = True  # X-Signature
    default_url = CLOUD_URL
    capabilities = Capabilities(
        max_batch_size=1, max_length=1600, delivery_reports=True, inbound=True, concurrency=4, dedupes_on_reference=True
    )
    registers_webhooks = True
    config_spec = ProviderSettings(
        (
            Setting(
                "mode",
                "Mode",
                "Cloud: the vendor's server (api.sms-gate.app). Private server: your own server of the app's "
                "cloud API. Local: the phone's built-in server on your network.",
                choices=(
                    ("", "Cloud (default)"),
                    ("cloud", "Cloud"),
                    ("private", "Private server"),
                    ("local", "Local"),
                ),
            ),
            Setting(
                "urlTemplate",
                "Server URL",
                "Private server: its address (https://sms.example.org). Local: the phone's address shown in the "
                "app (http://192.168.1.10:8080). Empty in cloud mode. Private addresses are refused unless the "
                "platform allows them.",
                kind="url",
            ),
            Setting("username", "Username", "The username on the app's Home tab.", required=True),
            Setting("password", "Password", "The password on the app's Home tab.", secret=True, required=True),
            Setting(
                "signingKey",
                "Webhook signing key",
                "Settings → Webhooks → Signing Key in the app: every webhook must carry a valid X-Signature.",
                secret=True,
                required=True,
            ),
            Setting(
                "country",
                "Phone's country",
                "ISO 3166-1 code of the SIM's country (KE, UG, US, …): phones report local senders in national "
                "form (0711 000 123); this reads them as +254711000123.",
            ),
            Setting("simNumber", "SIM", "Send from this SIM slot (1–3); empty: the phone's default.", kind="int"),
            Setting(
                "deviceId",
                "Device ID",
                "Cloud and private modes with several phones on one account: send through this one.",
                section="Advanced",
            ),
            Setting(
                "legacyMessageField",
                "Old app versions",
                "Send the text as `message` instead of `textMessage.text` (app versions before textMessage).",
                kind="bool",
                section="Advanced",
            ),
        ),
        rules=(_mode_rule,),
        description="An Android phone with a SIM as the gateway (the open-source SMS Gateway for Android app), "
        "reached through the vendor's cloud, your private server, or the phone's local server.",
        webhooks_hint="Use “Register webhook URLs with the phone” in the gateway list (or manage.py "
        "register_webhooks <gateway id>): it registers the inbound URL for sms:received and the status URL for "
        "sms:sent, sms:delivered and sms:failed through the app's API.",
    )

    # -- where --------------------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return str(self.gateway.config.get("mode") or "cloud")

    def api_url(self, path: str) -> str:
        """`path` ("/messages", "/webhooks") on this gateway's API: the local server has no prefix and
        takes sends on its original `/message` route."""
        base = self.base_url.rstrip("/")
        if self.mode == "local":
            return f"{base}{'/message' if path == '/messages' else path}"
        return f"{base}{CLOUD_PREFIX}{path}"

    @property
    def auth(self) -> tuple[str, str]:
        return str(self.gateway.config.get("username") or ""), self.secret("password")

    # -- sending ------------------------------------------------------------------------------

    def body(self, message: OutboundSms, *, now: datetime | None = None) -> dict[str, Any]:
        config = self.gateway.config
        body: dict[str, Any] = {"id": message.reference, "phoneNumbers": [message.to], "withDeliveryReport": True}
        if config.get("legacyMessageField"):
            body["message"] = message.text
        else:
            body["textMessage"] = {"text": message.text}
        if config.get("simNumber"):
            body["simNumber"] = int(config["simNumber"])
        if config.get("deviceId") and self.mode != "local":
            body["deviceId"] = str(config["deviceId"])
        valid_until = message.valid_until
        if valid_until is not None:
            # The phone drops the message when it could not send it in time (never late).
            seconds = int((valid_until - (now or datetime.now(UTC))).total_seconds())
            body["ttl"] = max(MIN_TTL_SECONDS, seconds)
        return body

    def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        url, auth = self.api_url("/messages"), self.auth

        def send_one(message: OutboundSms) -> SendResult:
            response = self.request(
                "POST",
                url,
                json=self.body(message),
                auth=auth,
                headers={"Accept": "application/json"},
                # 409: a message with our id exists already (a resend after a lost answer): accepted once.
                ok=lambda r: 200 <= r.status_code < 300 or r.status_code == 409,
            )
            if response.status_code == 409:
                return SendResult(reference=message.reference, accepted=True, provider_message_id=message.reference)
            try:
                answer = response.json()
            except ValueError:
                raise GatewayAmbiguousError("SMS Gateway for Android accepted the request but its reply is not JSON")
            state = str(answer.get("state") or "") if isinstance(answer, dict) else ""
            provider_id = str(answer.get("id") or message.reference) if isinstance(answer, dict) else message.reference
            if state == "Failed":
                recipients = answer.get("recipients") or [{}]
                error = str((recipients[0] or {}).get("error") or "Failed")[:120]
                return SendResult(
                    reference=message.reference,
                    accepted=False,
                    provider_message_id=provider_id,
                    result_code="FAILED",
                    error=error,
                )
            return SendResult(
                reference=message.reference,
                accepted=True,
                provider_message_id=provider_id,
                result_code=result_code_for_status(response.status_code),
            )

        return self.map_concurrent(send_one, messages)

    def error_detail(self, response) -> str:
        try:
            problem = response.json()
        except ValueError:
            return ""
        if isinstance(problem, dict) and problem.get("message"):
            return f": {str(problem['message'])[:160]}"
        return ""

    # -- webhook registration -----------------------------------------------------------------

    def webhooks_register(self, urls: Mapping[str, str]) -> list[dict]:
        """Register our URLs (`{"inbound": …, "status": …}`) with the app's API, one webhook per
        event under a stable id (so registering again replaces ours). Returns what the API answered."""
        registered = []
        events = [(e, urls["inbound"]) for e in INBOUND_EVENTS] + [(e, urls["status"]) for e in STATUS_EVENTS]
        for event, url in events:
            item: dict[str, Any] = {"id": webhook_id(self.gateway.uid, event), "url": url, "event": event}
            if self.gateway.config.get("deviceId") and self.mode != "local":
                item["deviceId"] = str(self.gateway.config["deviceId"])
            response = self.request(
                "POST", self.api_url("/webhooks"), json=item, auth=self.auth, headers={"Accept": "application/json"}
            )
            try:
                registered.append(response.json())
            except ValueError:
                registered.append(item)
        return registered

    # -- webhooks -----------------------------------------------------------------------------

    def number(self, value: Any) -> str:
        """A number as the phone reported it: national ones read in the phone's country."""
        text = str(value or "").strip()
        region = str(self.gateway.config.get("country") or "").upper()
        if region and text and not text.startswith(("+", "00")):
            try:
                return to_e164(text, region=region)
            except InvalidPhoneNumber:
                pass
        return normalise_number(text)

    def verify_request(self, request: HttpRequest, *, kind: str) -> None:
        key = self.secret("signingKey")
        if not key:
            raise WebhookValidationError("gateway has no webhook signing key")
        signature = request.headers.get("X-Signature", "").strip().lower()
        timestamp = request.headers.get("X-Timestamp", "").strip()
        if not signature or not timestamp.isdigit():
            raise WebhookValidationError("X-Signature and X-Timestamp are required")
        if not hmac.compare_digest(android_signature(key, request.body, timestamp), signature):
            raise WebhookValidationError("X-Signature does not match")
        fresh_check(
            parse_timestamp(timestamp), settings.SMSPORTAL_WEBHOOK_HMAC_MAX_AGE_SECONDS, "SMS Gateway for Android"
        )

    def _events(self, request: HttpRequest, names) -> list[tuple[dict, dict]]:
        """(envelope, payload) of each event named in `names` (other events are acknowledged and ignored)."""
        data = request_json(request)
        if not isinstance(data, dict):
            raise HostileInput("body", "expected the app's JSON event envelope {deviceId, event, id, payload}")
        if not isinstance(data.get("event"), str) or not isinstance(data.get("payload"), dict):
            raise HostileInput("payload" if isinstance(data.get("event"), str) else "event", "missing or malformed")
        return [(data, data["payload"])] if data["event"] in names else []

    def parse_inbound(self, request: HttpRequest) -> list[InboundSms]:
        replies = []
        for envelope, payload in self._events(request, INBOUND_EVENTS):
            sender = payload.get("sender") or payload.get("phoneNumber")  # `phoneNumber` before app 1.x
            text = payload.get("message")
            # `messageId` is derived from the content and may repeat; the event id is unique and stays
            # the same when the app retries the webhook.
            event_id = envelope.get("id")
            for field, value in (("payload.sender", sender), ("id", event_id)):
                if not value:
                    raise HostileInput(field, "missing")
            if not isinstance(text, str):
                raise HostileInput("payload.message", "missing")
            replies.append(
                InboundSms(
                    sender=self.number(sender),
                    recipient=self.number(payload.get("recipient")),
                    text=str(text),
                    provider_message_id=str(event_id),
                    received_at=parse_timestamp(payload.get("receivedAt")),
                    raw={"deviceId": envelope.get("deviceId"), "simNumber": payload.get("simNumber")},
                )
            )
        return replies

    def parse_status(self, request: HttpRequest) -> list[StatusUpdate]:
        updates = []
        for envelope, payload in self._events(request, STATUS_EVENTS):
            message_id = str(payload.get("messageId") or "")
            if not message_id:
                raise HostileInput("payload.messageId", "missing")
            status, time_field = STATUS_EVENTS[envelope["event"]]
            reason = str(payload.get("reason") or "")[:300] if status == "failed" else ""
            updates.append(
                StatusUpdate(
                    provider_message_id=message_id,
                    status=status,
                    error_code="SMS_FAILED" if status == "failed" else "",
                    error_text=reason,
                    occurred_at=parse_timestamp(payload.get(time_field)),
                    raw={"event": envelope["event"], "deviceId": envelope.get("deviceId")},
                    reference=message_id,  # our id: we gave it to the phone as the message id
                )
            )
        return updates
