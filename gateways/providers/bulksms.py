"""BulkSMS JSON REST API v1 (https://www.bulksms.com/developer/json/v1/).

Send: `POST {urlTemplate}?auto-unicode=true&deduplication-id=<batch hash>` with HTTP Basic
(username = token id, password = token secret) and a JSON array, one object per message.
The 201 reply is an array in the same order, one entry per recipient.
Webhooks (status reports and incoming messages) are JSON arrays in two renderings: the spec's
flat one and the webhook guide's nested one ({type, address}, {value, encoding}, status.condition);
both are accepted. BulkSMS does not sign webhooks: the per-gateway token authenticates them.
"""

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest

from gateways.exceptions import GatewayAmbiguousError
from gateways.providers.base import Capabilities, InboundSms, LookupAnswer, OutboundSms, SendResult, StatusUpdate
from gateways.providers.httpbase import RequestsAdapter, result_code_for_status
from gateways.providers.settings import ProviderSettings, Setting, unused, url_template
from gateways.providers.webhooks import json_entries, normalise_number, parse_timestamp

DEFAULT_URL = "https://api.bulksms.com/v1/messages"

# status.type[.subtype] → our status (reference B.6). ACCEPTED/SCHEDULED/UNKNOWN change nothing.
_STATUS = {
    "SENT": "sent",
    "DELIVERED": "delivered",
    "FAILED": "failed",
    "FAILED.HANDSET_ERROR": "undelivered",
    "FAILED.EXPIRED": "undelivered",
    "FAILED.BLOCKED": "failed",
    "FAILED.NOT_SENT": "failed",
}


def user_supplied_id(reference: str) -> str:
    """Our id as BulkSMS keeps it: its first 20 hex digits (the field's limit)."""
    return reference.replace("-", "")[:20]


def _address(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("address") or "")
    return str(value or "")


def _status_key(status: Any) -> tuple[str, str]:
    """(type, subtype) from either rendering of a BulkSMS status object."""
    if not isinstance(status, dict):
        return str(status or "").upper(), ""
    kind = str(status.get("type") or status.get("condition") or "").upper()
    sub = status.get("subtype") or status.get("cause") or ""
    if not kind and isinstance(status.get("id"), str):
        kind, _, sub = status["id"].partition(".")
    sub = "" if sub in (None, "null") else str(sub).upper()
    if "." in kind:
        kind, _, sub = kind.partition(".")
    return kind, sub


def lookup_answer(listed: Any, message: OutboundSms) -> LookupAnswer | None:
    """What a Retrieve Messages reply, filtered on the message's userSuppliedId, says about it:
    no entry → never received; one, to its number → found; anything else → undecided (None)."""
    if not isinstance(listed, list):
        return None  # not the documented array: decide nothing
    prefix = user_supplied_id(message.reference)
    ours = [e for e in listed if isinstance(e, dict) and str(e.get("userSuppliedId") or "") == prefix]
    if not ours:
        return LookupAnswer()
    if len(ours) > 1 or not ours[0].get("id"):
        return None
    if normalise_number(_address(ours[0].get("to"))) != normalise_number(message.to):
        return None
    kind, sub = _status_key(ours[0].get("status"))
    # ACCEPTED, SCHEDULED and UNKNOWN map to `sent`: BulkSMS has it, nothing more is known yet.
    status = _STATUS.get(f"{kind}.{sub}") or _STATUS.get(kind) or "sent"
    return LookupAnswer(provider_message_id=str(ours[0]["id"]), status=status)


class BulkSmsAdapter(RequestsAdapter):
    """BulkSMS v1 JSON API with Basic auth; batches one array of messages per request."""

    type = "bulksms"
    label = "BulkSMS"
    default_url = DEFAULT_URL
    capabilities = Capabilities(
        max_batch_size=200, max_length=459, delivery_reports=True, inbound=True, status_lookup=True
    )
    config_spec = ProviderSettings(
        (
            Setting(
                "username",
                "Token ID",
                "The ID of an API token (bulksms.com → Settings → API Tokens), or your BulkSMS username.",
                required=True,
            ),
            Setting(
                "password",
                "Token secret",
                "The secret of that API token (or your BulkSMS password).",
                secret=True,
                required=True,
            ),
            Setting(
                "from",
                "Sender",
                "A sender ID or number registered on your BulkSMS account. Empty with “Repliable” on: BulkSMS's "
                "shared repliable number, so replies reach this gateway.",
            ),
            Setting(
                "repliable",
                "Repliable",
                "Send from BulkSMS's repliable number when no sender is set, so patients can reply.",
                kind="bool",
                default=True,
            ),
            Setting(
                "longMessageMaxParts",
                "Long message: most parts",
                "The most SMS parts one long message may use (BulkSMS default: 3).",
                kind="int",
                section="Advanced",
            ),
            url_template("BulkSMS", DEFAULT_URL),
            unused("sendUrlParameters", "bool"),
        ),
        description="BulkSMS JSON REST API v1, authenticated with an API token.",
        webhooks_hint="On bulksms.com open Settings → Webhooks: add the inbound URL as an “Incoming SMS” "
        "webhook and the status URL as an “Outgoing SMS” (status report) webhook.",
    )

    def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        config = self.gateway.config
        payload = []
        for m in messages:
            item: dict[str, Any] = {
                "to": m.to,
                "body": m.text,
                "deliveryReports": "ALL",
                # At most 20 characters; the reply order identifies the message, this is for support.
                "userSuppliedId": user_supplied_id(m.reference),
            }
            sender = m.sender or config.get("from")
            item["from"] = {"type": "REPLIABLE"} if config.get("repliable", True) and not sender else sender
            if config.get("longMessageMaxParts"):
                item["longMessageMaxParts"] = int(config["longMessageMaxParts"])
            payload.append(item)
        # Same batch, same id: BulkSMS drops a repeated submission of it.
        dedup = hashlib.sha256("".join(m.reference for m in messages).encode()).hexdigest()[:32]
        response = self.request(
            "POST",
            self.base_url,
            params={"auto-unicode": "true", "deduplication-id": dedup},
            json=payload,
            auth=(str(config.get("username") or ""), self.secret("password")),
            headers={"Accept": "application/json"},
        )
        try:
            entries = response.json()
        except ValueError:
            raise GatewayAmbiguousError("BulkSMS accepted the request but its reply is not JSON")
        if isinstance(entries, dict):
            entries = [entries]
        code = result_code_for_status(response.status_code)
        results = []
        for m, entry in zip(messages, entries, strict=False):
            kind, sub = _status_key(entry.get("status"))
            accepted = kind not in ("FAILED",)
            # DHIS2's seed table: RESULT_CODE_1 = "scheduled"; otherwise the HTTP status's code.
            accepted_code = "RESULT_CODE_1" if kind == "SCHEDULED" else code
            results.append(
                SendResult(
                    reference=m.reference,
                    accepted=accepted,
                    provider_message_id=str(entry.get("id") or ""),
                    result_code=accepted_code if accepted else "FAILED",
                    error="" if accepted else f"{kind}.{sub or 'null'}",
                    raw={"status": entry.get("status")},
                )
            )
        return results

    def status_lookup(
        self, messages: Sequence[OutboundSms], *, since: datetime, recorded=None
    ) -> dict[str, LookupAnswer]:
        """Retrieve Messages filtered on our `userSuppliedId` and the submission date, one request per
        message. One entry to that number: found; none: never received; several: undecided."""
        auth = (str(self.gateway.config.get("username") or ""), self.secret("password"))
        after = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        answers: dict[str, LookupAnswer] = {}
        for m in messages:
            response = self.request(
                "GET",
                self.base_url,
                params={"filter": f"userSuppliedId={user_supplied_id(m.reference)}&submission.date>={after}"},
                auth=auth,
                headers={"Accept": "application/json"},
            )
            answer = lookup_answer(response.json(), m)
            if answer is not None:
                answers[m.reference] = answer
        return answers

    def error_detail(self, response) -> str:
        try:
            problem = response.json()
        except ValueError:
            return ""
        if isinstance(problem, dict):
            return f": {str(problem.get('title') or '')[:80]} {str(problem.get('detail') or '')[:120]}".rstrip()
        return ""

    # -- webhooks --------------------------------------------------------------------------

    def _entries(self, request: HttpRequest) -> list[dict]:
        return json_entries(request)

    def parse_status(self, request: HttpRequest) -> list[StatusUpdate]:
        updates = []
        for entry in self._entries(request):
            if str(entry.get("type") or "").upper() in ("RECEIVED", "RECEIVED_MESSAGE") or not entry.get("id"):
                continue
            kind, sub = _status_key(entry.get("status"))
            status = _STATUS.get(f"{kind}.{sub}") or _STATUS.get(kind)
            if status is None:
                continue
            status_obj = entry.get("status") if isinstance(entry.get("status"), dict) else {}
            updates.append(
                StatusUpdate(
                    provider_message_id=str(entry["id"]),
                    status=status,
                    error_code=f"{kind}.{sub}" if status in ("failed", "undelivered") else "",
                    error_text=f"{kind}.{sub}" if status in ("failed", "undelivered") else "",
                    occurred_at=parse_timestamp(status_obj.get("date")),
                    raw=entry,
                    reference=str(entry.get("userSuppliedId") or ""),
                )
            )
        return updates

    def parse_inbound(self, request: HttpRequest) -> list[InboundSms]:
        replies = []
        for entry in self._entries(request):
            if str(entry.get("type") or "RECEIVED").upper() not in ("RECEIVED", "RECEIVED_MESSAGE"):
                continue
            body = entry.get("body")
            text = body.get("value") if isinstance(body, dict) else body
            if not entry.get("from") or text is None:
                continue
            submission = entry.get("submission") if isinstance(entry.get("submission"), dict) else {}
            replies.append(
                InboundSms(
                    sender=normalise_number(_address(entry.get("from"))),
                    recipient=normalise_number(_address(entry.get("to"))),
                    text=str(text),
                    provider_message_id=str(entry.get("id") or ""),
                    received_at=parse_timestamp(submission.get("date")),
                    previous_published_message_id=str(entry.get("relatedSentMessageId") or ""),
                    raw=entry,
                )
            )
        return replies
