"""Twilio Programmable Messaging (https://www.twilio.com/docs/messaging/api/message-resource).

Send: one form-encoded `POST {urlTemplate}/2010-04-01/Accounts/{accountSid}/Messages.json` per
message, HTTP Basic accountSid:authToken, `To`, `Body`, `From` or `MessagingServiceSid`, and
`StatusCallback` set to this gateway's public status URL with our message id as `ref`, so a
report also resolves a message whose sid we never recorded. Messages of a batch go out in
parallel over the pooled session. Status lookup: list messages by `To`, created since the send,
matched on the body (messaging/services/reconcile.py). Callbacks are authenticated by
`X-Twilio-Signature`, checked with the `twilio` package's RequestValidator against the *public*
URL (SMSPORTAL_PUBLIC_BASE_URL + path), since behind a proxy the URL Django sees differs from the
one Twilio signed. A secondary auth token (`secondaryAuthToken`) is accepted too, for rotation.
"""

import hmac
import logging
import math
import re
from collections.abc import Callable, Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from twilio.request_validator import RequestValidator

from gateways.exceptions import ConfigError, GatewayAmbiguousError, WebhookValidationError
from gateways.providers.base import (
    Capabilities,
    InboundSms,
    LookupAnswer,
    OutboundSms,
    SendResult,
    StatusUpdate,
    from_number,
)
from gateways.providers.httpbase import RequestsAdapter, result_code_for_status
from gateways.providers.settings import ProviderSettings, Setting, url_template
from gateways.providers.webhooks import normalise_number

logger = logging.getLogger(__name__)

DEFAULT_URL = "https://api.twilio.com"
API_VERSION = "2010-04-01"
REFERENCE_PARAM = "ref"  # our message id, in each message's StatusCallback URL
MAX_VALIDITY_PERIOD = 36000  # seconds; Twilio's ValidityPeriod range is 1..36000 (also its default)


def validity_period(message: OutboundSms) -> int | None:
    """Twilio's `ValidityPeriod` (seconds its queue may hold the message) from our validUntil; None
    when Twilio's own default (the maximum) is as strict."""
    if message.valid_until is None:
        return None
    remaining = math.ceil((message.valid_until - timezone.now()).total_seconds())
    return max(1, remaining) if remaining < MAX_VALIDITY_PERIOD else None


LOOKUP_PAGES = 5  # bounded: at most this many pages of 1,000 messages per number
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'

# MessageStatus → ours; queued/accepted/scheduled/sending/receiving change nothing.
_STATUS = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}
# Twilio API errors that are about one recipient, not the account: the message fails, the batch goes on.
# 20429: too many requests → temporary (handled by HTTP 429).


def _created(item: dict) -> datetime | None:
    try:
        return parsedate_to_datetime(str(item.get("date_created") or ""))
    except (TypeError, ValueError):
        return None


def _signed_as_is(tokens: list[str], url: str, params, signature: str) -> bool:
    """The common case in one HMAC: the form signed over exactly our public URL.

    RequestValidator.validate() always computes two signatures (the URL with and without its
    port); the URL as given is one of them, so a match here is a match there. Anything else
    (the other port form, a secondary token) goes through validate().
    """
    computed = RequestValidator(tokens[0]).compute_signature(url, params)
    return hmac.compare_digest(computed.encode(), signature.encode())


# "from" is an E.164 number or an alphanumeric sender id (1-11 letters, digits, spaces; a letter).
E164 = re.compile(r"\+[1-9]\d{1,14}")
ALPHANUMERIC_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")


def _from_rule(config: dict, secrets: dict, failed: set) -> None:
    sender = config.get("from")
    if "from" in failed:
        return
    if not (sender or config.get("messagingServiceSid")):
        raise ConfigError("from or messagingServiceSid is required", field="from")
    if sender and not (E164.fullmatch(sender) or ALPHANUMERIC_SENDER.fullmatch(sender)):
        raise ConfigError(
            "from must be an E.164 number (+ and country code, e.g. +12025550100) or an alphanumeric sender id "
            "of at most 11 letters, digits and spaces with at least one letter",
            field="from",
        )


class TwilioAdapter(RequestsAdapter):
    """Twilio Messages API: one message per request, parallel within a batch."""

    type = "twilio"
    label = "Twilio"
    signed_webhooks = True  # X-Twilio-Signature
    default_url = DEFAULT_URL
    capabilities = Capabilities(
        max_batch_size=1,
        max_length=1600,
        delivery_reports=True,
        inbound=True,
        concurrency=16,
        status_lookup=True,
        counts_segments=True,  # Twilio's messages-per-second limits count segments
    )
    config_spec = ProviderSettings(
        (
            Setting(
                "accountSid",
                "Account SID",
                "Starts with AC; on the Twilio Console home page.",
                required=True,
            ),
            Setting(
                "authToken",
                "Auth token",
                "The account's auth token (Twilio Console home page). Also checks X-Twilio-Signature on callbacks.",
                secret=True,
                required=True,
            ),
            Setting(
                "from",
                "From number",
                "A Twilio phone number of the account in E.164 (+12025550100), or an alphanumeric sender ID "
                "(at most 11 letters, digits and spaces). Not needed with a Messaging Service.",
            ),
            Setting(
                "messagingServiceSid",
                "Messaging Service SID",
                "Starts with MG; sends through the Messaging Service's number pool instead of one From number.",
            ),
            Setting(
                "secondaryAuthToken",
                "Secondary auth token",
                "While you promote a secondary token in Twilio, callbacks signed with either token are accepted.",
                secret=True,
                section="Advanced",
            ),
            url_template("Twilio", DEFAULT_URL),
        ),
        description="Twilio Programmable Messaging.",
        rules=(_from_rule,),
        webhooks_hint="In the Twilio Console open Phone Numbers → your number → Messaging: paste the inbound URL "
        "into “A message comes in” (HTTP POST). The status URL is sent with every message; nothing to paste.",
    )

    @classmethod
    def own_numbers(cls, config) -> list[str]:
        """A `from` that is a phone number (not a Messaging Service SID) is where replies come back."""
        return from_number(config)

    @property
    def account_sid(self) -> str:
        return str(self.gateway.config.get("accountSid") or "")

    def messages_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"

    def status_callback_url(self) -> str:
        return self.webhook_url("status")

    def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        url, auth, callback = self.messages_url(), (self.account_sid, self.secret("authToken")), None
        if self.gateway.pk is not None:
            callback = self.status_callback_url()
        config = self.gateway.config

        def send_one(message: OutboundSms) -> SendResult:
            form = {"To": message.to, "Body": message.text}
            if config.get("messagingServiceSid"):
                form["MessagingServiceSid"] = str(config["messagingServiceSid"])
            else:
                form["From"] = message.sender or str(config.get("from") or "")
            if (validity := validity_period(message)) is not None:
                form["ValidityPeriod"] = str(validity)
            if callback:
                separator = "&" if "?" in callback else "?"
                form["StatusCallback"] = f"{callback}{separator}{urlencode({REFERENCE_PARAM: message.reference})}"
            response = self.request("POST", url, data=form, auth=auth, headers={"Accept": "application/json"})
            try:
                sid = str(response.json().get("sid") or "")
            except (ValueError, AttributeError):
                sid = ""
            if not sid:
                raise GatewayAmbiguousError("Twilio accepted the request without a message sid")
            return SendResult(
                reference=message.reference,
                accepted=True,
                provider_message_id=sid,
                result_code=result_code_for_status(response.status_code),
            )

        return self.map_concurrent(send_one, messages)

    def status_lookup(
        self, messages: Sequence[OutboundSms], *, since: datetime, recorded: Callable[[list[str]], set[str]]
    ) -> dict[str, LookupAnswer]:
        """List the messages sent to each number since `since` and match ours on the body.

        A match needs one candidate per message (same number, same text, a sid not already
        recorded for another message): two identical texts to one number stay undecided.
        """
        auth = (self.account_sid, self.secret("authToken"))
        by_number: dict[str, list[OutboundSms]] = {}
        for m in messages:
            by_number.setdefault(m.to, []).append(m)
        answers: dict[str, LookupAnswer] = {}
        for number, ours in by_number.items():
            listed = self._listed(number, since, auth)
            if listed is None:
                continue
            known = recorded([x["sid"] for x in listed])
            for text in {m.text for m in ours}:
                same = [m for m in ours if m.text == text]
                free = [x for x in listed if x.get("body") == text and x["sid"] not in known]
                if len(same) == 1 and len(free) == 1:
                    status = _STATUS.get(str(free[0].get("status") or "").lower(), "sent")
                    answers[same[0].reference] = LookupAnswer(provider_message_id=free[0]["sid"], status=status)
                elif not free:
                    answers.update({m.reference: LookupAnswer() for m in same})
        return answers

    def _listed(self, number: str, since: datetime, auth) -> list[dict] | None:
        """Twilio's messages to `number` created since `since`, newest first (None when the list is
        too long to be sure). Filtered on `date_created`, not `DateSent`: a message Twilio still
        queues has no send date yet, and must not be taken for one it never received."""
        url = f"{self.messages_url()}?{urlencode({'To': number, 'PageSize': '1000'})}"
        listed: list[dict] = []
        for _ in range(LOOKUP_PAGES):
            data = self.request("GET", url, auth=auth, headers={"Accept": "application/json"}).json()
            for item in data.get("messages") or []:
                if not isinstance(item, dict) or not item.get("sid"):
                    continue
                created = _created(item)
                if created is not None and created < since:
                    return listed  # older than what we ask about: the list is complete
                listed.append(item)
            if not data.get("next_page_uri"):
                return listed
            url = f"{self.base_url.rstrip('/')}{data['next_page_uri']}"
        return None

    def error_detail(self, response) -> str:
        try:
            data = response.json()
        except ValueError:
            return ""
        if isinstance(data, dict) and data.get("code"):
            return f": Twilio error {data['code']} {str(data.get('message') or '')[:100]}".rstrip()
        return ""

    # -- webhooks --------------------------------------------------------------------------

    def public_url(self, request: HttpRequest) -> str:
        """The URL Twilio called, rebuilt from the public base URL (proxies change scheme/host)."""
        return f"{settings.SMSPORTAL_PUBLIC_BASE_URL.rstrip('/')}{request.get_full_path()}"

    def verify_request(self, request: HttpRequest, *, kind: str) -> None:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            raise WebhookValidationError("X-Twilio-Signature missing")
        tokens = [t for t in (self.secret("authToken"), self.secret("secondaryAuthToken")) if t]
        if not tokens:
            raise WebhookValidationError("gateway has no Twilio auth token")
        url = self.public_url(request)
        if request.method == "GET":
            params = {}  # the signature covers the URL only; _fields() reads nothing else
        elif (request.content_type or "") == "application/x-www-form-urlencoded":
            params = request.POST
            if _signed_as_is(tokens, url, params, signature):
                return
        else:
            # Twilio's messaging webhooks are form-encoded; anything else is not signed by it.
            raise WebhookValidationError("Twilio webhooks are GETs or form-encoded POSTs")
        if not any(RequestValidator(token).validate(url, params, signature) for token in tokens):
            raise WebhookValidationError("X-Twilio-Signature does not match")

    def _fields(self, request: HttpRequest) -> dict:
        """Exactly what the signature covers: a GET's query string (its body is ignored), a
        POST's form body."""
        if request.method == "POST":
            return request.POST.dict()
        return request.GET.dict()

    def parse_status(self, request: HttpRequest) -> list[StatusUpdate]:
        fields = self._fields(request)
        sid = fields.get("MessageSid") or fields.get("SmsSid")
        status = _STATUS.get(str(fields.get("MessageStatus") or fields.get("SmsStatus") or "").lower())
        if not sid or status is None:
            return []
        error = str(fields.get("ErrorCode") or "")
        return [
            StatusUpdate(
                provider_message_id=str(sid),
                status=status,
                error_code=error if status in ("failed", "undelivered") else "",
                error_text=f"Twilio error {error}" if error and status in ("failed", "undelivered") else "",
                raw=fields,
                reference=request.GET.get(REFERENCE_PARAM, ""),
            )
        ]

    def parse_inbound(self, request: HttpRequest) -> list[InboundSms]:
        fields = self._fields(request)
        sid = fields.get("MessageSid") or fields.get("SmsMessageSid") or fields.get("messageSid")
        sender = fields.get("From") or fields.get("from")
        body = fields.get("Body", fields.get("body"))
        if not sid or not sender or body is None:
            return []
        return [
            InboundSms(
                sender=normalise_number(sender),
                recipient=normalise_number(fields.get("To") or fields.get("to")),
                text=str(body),
                provider_message_id=str(sid),
                raw=fields,
            )
        ]

    def webhook_response(self, kind: str) -> HttpResponse:
        if kind == "inbound":
            # Empty TwiML: no auto-reply (replies are sent by our pipeline, not inline).
            return HttpResponse(EMPTY_TWIML, content_type="text/xml")
        return HttpResponse(status=200)
