"""Generic HTTP gateway: any HTTP SMS service, configured with DHIS2's generic gateway fields.

Send (DHIS2 semantics, DHIS2's generic HTTP gateway; docs/gateways.md):
values = each non-header parameter (confidential ones from the encrypted secrets, Base64 when
`encode`), plus `text` and `recipients` (numbers joined by commas, and `id`/`from`); the body is
`configurationTemplate` with `${key}` replaced, each value escaped for `contentType`; header
parameters become headers; `sendUrlParameters` puts the body in the query string; `useGet` uses
GET. Without a template the values are sent as a form, a JSON object or XML elements.

One request carries every recipient of one text (up to 200) unless the template uses `${id}`,
then it is one request per message. Delivery reports identify a message by the provider id
(`responseIdField` of a one-per-request reply) or, by default, by our message id.
Inbound and status field names are configurable (docs/gateways.md).
"""

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Sequence
from urllib.parse import quote_plus, urlencode
from xml.sax.saxutils import escape as xml_escape

from django.conf import settings
from django.http import HttpRequest

from gateways.exceptions import ConfigError, WebhookValidationError
from gateways.providers.base import Capabilities, InboundSms, OutboundSms, SendResult, StatusUpdate, same_text_groups
from gateways.providers.httpbase import RequestsAdapter, result_code_for_status
from gateways.providers.settings import TEMPLATE_PLACEHOLDER, ProviderSettings, Setting, unused
from gateways.providers.webhooks import dig, fresh_check, normalise_number, parse_timestamp, request_fields

CONTENT_TYPES = {
    "FORM_URL_ENCODED": "application/x-www-form-urlencoded",
    "APPLICATION_JSON": "application/json",
    "APPLICATION_XML": "application/xml",
    "TEXT_PLAIN": "text/plain",
}
PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.-]+)\}")
MAX_RECIPIENTS = 200  # DHIS2's MAX_RECIPIENTS_ALLOWED

# Default vocabulary of a generic status callback (case-insensitive), overridable by `statusMap`.
DEFAULT_STATUS_MAP = {
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "rejected": "failed",
    "expired": "undelivered",
}


def parameter_is_confidential(param: dict) -> bool:
    return bool(param.get("confidential") or param.get("classified"))


def _signature_id(request: HttpRequest) -> str:
    signature = getattr(request, "webhook_signature", "")
    return f"sig:{signature[:40]}" if signature else ""


# -- configuration rules (gateways.config runs them after reading every field) ------------------

# Placeholders send_batch fills in (besides the parameter keys).
HTTP_PLACEHOLDERS = ("text", "recipients", "recipients_no_plus", "id", "from")
HTTP_METHODS = ("GET", "POST", "PUT")


def _content_type_rule(config: dict, secrets: dict, failed: set) -> None:
    content_type = str(config.get("contentType") or "FORM_URL_ENCODED").upper()
    if content_type not in CONTENT_TYPES:
        raise ConfigError("contentType must be one of " + ", ".join(CONTENT_TYPES), field="contentType")
    config["contentType"] = content_type


def _method_rule(config: dict, secrets: dict, failed: set) -> None:
    method = str(config.get("method") or "POST").upper()
    if method not in HTTP_METHODS:
        raise ConfigError("method must be " + ", ".join(HTTP_METHODS[:-1]) + " or " + HTTP_METHODS[-1], field="method")
    if config.get("method"):
        config["method"] = method


def _placeholders_rule(config: dict, secrets: dict, failed: set) -> None:
    """Every ${...} in the templates must be one the adapter fills in: a typo would be sent verbatim."""
    keys = [str(p.get("key")) for p in config.get("parameters") or [] if isinstance(p, dict)]
    known = set(HTTP_PLACEHOLDERS) | set(keys)
    problems = []  # both templates are checked: every problem is reported at once
    for name in ("configurationTemplate", "urlTemplate"):
        template = str(config.get(name) or "")
        if name in failed or not template:
            continue
        found = TEMPLATE_PLACEHOLDER.findall(template)
        if template.count("${") != len(found) or any(not PLACEHOLDER.fullmatch(f"${{{p}}}") for p in found):
            problems.append(ConfigError(f"{name} has a malformed ${{...}} placeholder", field=name))
            continue
        unknown = [p for p in dict.fromkeys(found) if p not in known]
        if unknown:
            problems.append(
                ConfigError(
                    f"{name} has unknown placeholder(s) "
                    + ", ".join(f"${{{p}}}" for p in unknown)
                    + ": use "
                    + ", ".join(f"${{{p}}}" for p in HTTP_PLACEHOLDERS)
                    + " or a parameter key",
                    field=name,
                )
            )
    if problems:
        raise ConfigError.combined(problems)


class GenericHttpAdapter(RequestsAdapter):
    """Any HTTP SMS API, wired by configuration (DHIS2's generic HTTP gateway, extended)."""

    type = "http"
    label = "Generic HTTP"
    routes = ("generichttp",)
    aliases = ("generic_http",)
    config_spec = ProviderSettings(
        (
            Setting(
                "urlTemplate",
                "URL",
                "Where to send, e.g. https://sms.example.com/send?to=${recipients}. Placeholders: ${text}, "
                "${recipients}, ${recipients_no_plus}, ${id}, ${from} and parameter keys. Private addresses "
                "are refused.",
                kind="url",
                required=True,
            ),
            Setting(
                "method",
                "HTTP method",
                choices=(("", "POST (default)"), ("GET", "GET"), ("POST", "POST"), ("PUT", "PUT")),
            ),
            Setting(
                "contentType",
                "Body format",
                "How the body (and each placeholder value in it) is encoded.",
                choices=(
                    ("", "Form URL-encoded (default)"),
                    ("FORM_URL_ENCODED", "Form URL-encoded"),
                    ("APPLICATION_JSON", "JSON"),
                    ("APPLICATION_XML", "XML"),
                    ("TEXT_PLAIN", "Plain text"),
                ),
            ),
            Setting(
                "configurationTemplate",
                "Body template",
                "The request body with the same placeholders as the URL; any other placeholder is refused. "
                "Empty: the parameters, text and recipients are sent as a form, JSON object or XML.",
                kind="text",
            ),
            Setting(
                "parameters",
                "Parameters",
                'JSON list of {"key", "value", "header", "encode", "confidential"}: values for the placeholders, '
                "or headers (e.g. an API key). Confidential values are stored encrypted and show as ********; "
                "leave ******** to keep one.",
                kind="parameters",
            ),
            Setting("messageParameter", "Text parameter name", "Without a body template: the text's name (text)."),
            Setting("recipientParameter", "Recipients parameter name", "Without a body template: the numbers' name."),
            Setting("from", "Sender", "Fills ${from} when a message has no sender of its own."),
            Setting("sendUrlParameters", "Send the values as URL parameters", kind="bool"),
            Setting("dhis2TextEncoding", "DHIS2 text encoding", "Encode ${text} as DHIS2 does.", kind="bool"),
            Setting(
                "successContains",
                "Success reply contains",
                "Text the provider's reply must contain for a send to count as accepted (besides a 2xx status).",
                section="Provider reply",
            ),
            Setting(
                "responseIdField",
                "Message id in the reply",
                "Dotted path of the provider's message id in a JSON reply, e.g. data.id.",
                section="Provider reply",
            ),
            *(
                Setting(name, label, f"The callback field with the {what} (default: {default}).", section=section)
                for name, label, what, default, section in (
                    ("inboundFromField", "Sender field", "sender's number", "from", "Reply callback"),
                    ("inboundToField", "Recipient field", "number replied to", "to", "Reply callback"),
                    ("inboundTextField", "Text field", "reply's text", "text", "Reply callback"),
                    ("inboundIdField", "Id field", "provider's id of the reply", "id", "Reply callback"),
                    ("inboundDateField", "Date field", "time received", "date", "Reply callback"),
                    ("statusIdField", "Message id field", "message id", "id", "Status callback"),
                    ("statusField", "Status field", "status", "status", "Status callback"),
                    ("statusErrorField", "Error field", "error", "error", "Status callback"),
                )
            ),
            Setting(
                "statusMap",
                "Status map",
                "JSON object: the provider's status value → ours (sent, delivered, undelivered, failed), e.g. "
                '{"DLVRD": "delivered"}.',
                kind="dict",
                section="Status callback",
            ),
            Setting(
                "webhookSigningSecret",
                "Callback signing secret",
                "Optional: when set, callbacks must carry X-Smsportal-Signature (HMAC-SHA256 of "
                "<timestamp>.<query string>.<body>) and X-Smsportal-Timestamp.",
                secret=True,
                section="Status callback",
            ),
            unused("useGet", "bool"),
            unused("username"),
        ),
        description="Any HTTP SMS service, wired by configuration (DHIS2's generic HTTP gateway).",
        rules=(_content_type_rule, _placeholders_rule, _method_rule),
        webhooks_hint="Give the provider the inbound URL for replies and the status URL for delivery reports; "
        "set the field names they use under “Reply callback” and “Status callback”.",
    )

    @property
    def capabilities(self) -> Capabilities:
        config = self.gateway.config
        per_message = self._per_message()
        return Capabilities(
            max_batch_size=MAX_RECIPIENTS,
            max_length=int(self.gateway.max_sms_length or config.get("maxSmsLength") or 1071),
            delivery_reports=True,
            inbound=True,
            concurrency=8 if per_message else 1,
        )

    # -- sending ---------------------------------------------------------------------------

    def _per_message(self) -> bool:
        config = self.gateway.config
        haystack = " ".join(
            [str(config.get("configurationTemplate") or ""), str(config.get("urlTemplate") or "")]
            + [str(p.get("value") or "") for p in config.get("parameters") or []]
        )
        return "${id}" in haystack

    def _content_type(self) -> str:
        return str(self.gateway.config.get("contentType") or "FORM_URL_ENCODED").upper()

    def _parameter_values(self) -> tuple[dict[str, str], dict[str, str]]:
        """(body values, headers) from `parameters`; confidential values come from the secrets."""
        stored = self.gateway.secrets.get("parameters") or {}
        values, headers = {}, {}
        for param in self.gateway.config.get("parameters") or []:
            key = str(param.get("key") or "")
            if not key:
                continue
            value = str(stored.get(key, "") if parameter_is_confidential(param) else param.get("value") or "")
            if param.get("encode"):
                value = base64.b64encode(value.encode()).decode()
            (headers if param.get("header") else values)[key] = value
        return values, headers

    def _escape(self, value: str, content_type: str, *, is_text: bool) -> str:
        if is_text and self.gateway.config.get("dhis2TextEncoding"):
            value = quote_plus(value)  # DHIS2 form-encodes the text in every content type
            if content_type == "APPLICATION_JSON":
                return json.dumps(value)[1:-1]
            return value
        if content_type == "FORM_URL_ENCODED":
            return quote_plus(value)
        if content_type == "APPLICATION_JSON":
            return json.dumps(value)[1:-1]
        if content_type == "APPLICATION_XML":
            return xml_escape(value, {'"': "&quot;", "'": "&apos;"})
        return value

    def build_request(self, messages: Sequence[OutboundSms]) -> tuple[str, str, dict[str, str], bytes | None]:
        """(method, url, headers, body) for one text to one or more recipients."""
        config = self.gateway.config
        content_type = self._content_type()
        params, headers = self._parameter_values()
        first = messages[0]
        values = {
            **params,
            "text": first.text,
            "recipients": ",".join(m.to for m in messages),
            "recipients_no_plus": ",".join(m.to.lstrip("+") for m in messages),
            "id": first.reference,
            "from": first.sender or str(config.get("from") or ""),
        }
        template = str(config.get("configurationTemplate") or "")
        if template:
            body = PLACEHOLDER.sub(
                lambda m: self._escape(values.get(m.group(1), m.group(0)), content_type, is_text=m.group(1) == "text"),
                template,
            )
        else:
            fields = {**params}
            fields[str(config.get("messageParameter") or "text")] = first.text
            fields[str(config.get("recipientParameter") or "recipients")] = values["recipients"]
            if content_type == "APPLICATION_JSON":
                body = json.dumps(fields)
            elif content_type == "APPLICATION_XML":
                inner = "".join(f"<{k}>{xml_escape(v)}</{k}>" for k, v in fields.items())
                body = f"<request>{inner}</request>"
            else:
                body = urlencode(fields)
        url = PLACEHOLDER.sub(lambda m: quote_plus(values.get(m.group(1), "")), str(config.get("urlTemplate") or ""))
        method = "GET" if config.get("useGet") else str(config.get("method") or "POST").upper()
        if config.get("sendUrlParameters") or method == "GET":
            url = f"{url}{'&' if '?' in url else '?'}{body}" if body else url
            return method, url, headers, None
        headers = {"Content-Type": CONTENT_TYPES.get(content_type, "text/plain"), **headers}
        return method, url, headers, body.encode()

    def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        if self._per_message():
            return self.map_concurrent(lambda m: self._send_group([m])[0], messages)
        return [r for _, _, group in same_text_groups(messages, MAX_RECIPIENTS) for r in self._send_group(group)]

    def _send_group(self, group: Sequence[OutboundSms]) -> list[SendResult]:
        method, url, headers, body = self.build_request(group)
        response = self.request(method, url, headers=headers, data=body)
        code = result_code_for_status(response.status_code)
        success = str(self.gateway.config.get("successContains") or "")
        if success and success not in response.text:
            return [
                SendResult(reference=m.reference, accepted=False, result_code="FAILED", error="success text not found")
                for m in group
            ]
        provider_id = ""
        id_field = str(self.gateway.config.get("responseIdField") or "")
        if id_field and len(group) == 1:
            try:
                provider_id = str(dig(response.json(), id_field) or "")
            except ValueError:
                provider_id = ""
        return [
            SendResult(
                reference=m.reference,
                accepted=True,
                provider_message_id=provider_id or m.reference,
                result_code=code if code != "FAILED" else "RESULT_CODE_200",
            )
            for m in group
        ]

    # -- webhooks --------------------------------------------------------------------------

    def verify_request(self, request: HttpRequest, *, kind: str) -> None:
        """The webhook token; and, when the gateway has a `webhookSigningSecret`, an HMAC-SHA256 of
        `<timestamp>.<query string>.<body>` in `X-Smsportal-Signature: sha256=<hex>` with the
        Unix time in `X-Smsportal-Timestamp`, within the replay window (docs/gateways.md)."""
        super().verify_request(request, kind=kind)
        secret = str(self.gateway.secrets.get("webhookSigningSecret") or "")
        if not secret:
            return
        timestamp = request.headers.get("X-Smsportal-Timestamp", "").strip()
        supplied = request.headers.get("X-Smsportal-Signature", "").strip().removeprefix("sha256=")
        if not timestamp.isdigit() or not supplied:
            raise WebhookValidationError("X-Smsportal-Timestamp and X-Smsportal-Signature are required")
        signed = b".".join([timestamp.encode(), request.META.get("QUERY_STRING", "").encode(), request.body])
        expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, supplied.lower()):
            raise WebhookValidationError("X-Smsportal-Signature does not match")
        fresh_check(parse_timestamp(timestamp), settings.SMSPORTAL_WEBHOOK_HMAC_MAX_AGE_SECONDS, "signed webhook")
        # A replay inside the window carries the same signature: it names the message when the
        # gateway sends no id of its own, so the replay is stored once.
        request.webhook_signature = expected

    def _field(self, name: str, default: str) -> str:
        return str(self.gateway.config.get(name) or default)

    def parse_inbound(self, request: HttpRequest) -> list[InboundSms]:
        fields = request_fields(request)
        sender = fields.get(self._field("inboundFromField", "from")) or fields.get("sender")
        text = fields.get(self._field("inboundTextField", "text"))
        if not sender or text is None:
            return []
        raw_id = fields.get(self._field("inboundIdField", "id"))
        return [
            InboundSms(
                sender=normalise_number(sender),
                recipient=normalise_number(fields.get(self._field("inboundToField", "to"))),
                text=str(text),
                provider_message_id=str(raw_id or "") or _signature_id(request),
                received_at=parse_timestamp(fields.get(self._field("inboundDateField", "date"))),
                raw={k: v for k, v in fields.items() if k != "token"},
            )
        ]

    def parse_status(self, request: HttpRequest) -> list[StatusUpdate]:
        fields = request_fields(request)
        provider_id = fields.get(self._field("statusIdField", "id"))
        value = str(fields.get(self._field("statusField", "status")) or "").strip().lower()
        mapping = {
            **DEFAULT_STATUS_MAP,
            **{str(k).lower(): v for k, v in (self.gateway.config.get("statusMap") or {}).items()},
        }
        status = mapping.get(value)
        if not provider_id or status is None:
            return []
        error = str(fields.get(self._field("statusErrorField", "error")) or "")
        return [
            StatusUpdate(
                provider_message_id=str(provider_id),
                status=status,
                error_code=error[:64],
                error_text=error,
                raw={k: v for k, v in fields.items() if k != "token"},
                reference=str(fields.get(self._field("statusReferenceField", "reference")) or ""),
            )
        ]
