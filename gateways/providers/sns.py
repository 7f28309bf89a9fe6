"""AWS: SNS `publish` to a phone number, or End User Messaging SMS (`pinpoint-sms-voice-v2`).

Send with boto3, one message per call, in parallel within a batch. Config (`config`):
`service` ("sns" default, or "pinpoint-sms-voice-v2"), `region`, `accessKeyId`, `endpointUrl`
(a local moto server or stand-in in tests), `originationIdentity`, `configurationSetName`,
`senderId`, `topicArns` (allow-list for callbacks). `secretAccessKey` is a secret; without keys
boto3's default credential chain is used.

Callbacks (two-way SMS and End User Messaging delivery events) arrive as SNS HTTPS
notifications. Each is verified (docs: sns-verify-signature-of-message): the TopicArn must be
allow-listed; SigningCertURL must be https://sns.<region of the topic>.amazonaws.com/
SimpleNotificationService-<hex>.pem (other hosts were a real CVE in django-ses); the RSA signature
(SignatureVersion 1 = SHA1, 2 = SHA256) over the canonical string must verify with that
certificate. Subscription confirmations are confirmed only after all of that.
`SMSPORTAL_SNS_TEST_CERTIFICATE` (tests only) supplies a locally generated certificate instead of
fetching one; the URL checks still apply.
"""

import base64
import hashlib
import logging
import re
import threading
from collections.abc import Sequence
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.conf import settings
from django.http import HttpRequest

from gateways.exceptions import (
    GatewayAmbiguousError,
    GatewayRejectedError,
    GatewayTemporaryError,
    WebhookValidationError,
)
from gateways.providers.base import Capabilities, InboundSms, OutboundSms, SendResult, StatusUpdate
from gateways.providers.httpbase import RequestsAdapter, http_session
from gateways.providers.settings import ProviderSettings, Setting
from gateways.providers.webhooks import fresh_check, normalise_number, parse_timestamp, request_json
from gateways.urlsafety import UnsafeUrlError, aws_endpoint_check
from smsportal.input_safety import HostileInput, json_loads

logger = logging.getLogger(__name__)

NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SUBSCRIPTION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
CERT_PATH = re.compile(r"^/SimpleNotificationService-[0-9a-fA-F]+\.pem$")
TOPIC_ARN = re.compile(r"^arn:aws(?:-cn|-us-gov)?:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_.-]+$")

# End User Messaging event types → ours (reference B.2/B.6); pending/queued/unknown change nothing.
EVENT_STATUS = {
    "TEXT_SUCCESSFUL": "sent",
    "TEXT_DELIVERED": "delivered",
    "TEXT_UNREACHABLE": "undelivered",
    "TEXT_CARRIER_UNREACHABLE": "undelivered",
    "TEXT_TTL_EXPIRED": "undelivered",
} | {
    t: "failed"
    for t in (
        "TEXT_INVALID",
        "TEXT_INVALID_MESSAGE",
        "TEXT_BLOCKED",
        "TEXT_CARRIER_BLOCKED",
        "TEXT_SPAM",
        "TEXT_PROTECT_BLOCKED",
    )
}
THROTTLING = {"Throttling", "ThrottlingException", "TooManyRequestsException", "ThrottledException"}
SERVER_ERRORS = {"InternalError", "InternalFailure", "InternalServerException", "ServiceUnavailable"}

_clients_lock = threading.Lock()
_clients: dict[tuple, object] = {}
_certs_lock = threading.Lock()
_certs: dict[str, object] = {}


def signing_string(envelope: dict) -> bytes:
    """The canonical `Key\\nValue\\n` string SNS signs, keys in byte order, per message type."""
    keys = NOTIFICATION_KEYS if envelope.get("Type") == "Notification" else SUBSCRIPTION_KEYS
    return "".join(f"{k}\n{envelope[k]}\n" for k in keys if k in envelope and envelope[k] is not None).encode()


def cert_url_allowed(url: str, region: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    return (
        parts.scheme == "https"
        and parts.port in (None, 443)
        and host in (f"sns.{region}.amazonaws.com", f"sns.{region}.amazonaws.com.cn")
        and bool(CERT_PATH.match(parts.path))
        and not parts.query
    )


def _public_key(cert_url: str):
    test_pem = getattr(settings, "SMSPORTAL_SNS_TEST_CERTIFICATE", "")
    if test_pem:
        return x509.load_pem_x509_certificate(test_pem.encode()).public_key()
    with _certs_lock:
        cached = _certs.get(cert_url)
    if cached is not None:
        return cached
    try:
        response = http_session().get(cert_url, timeout=5, allow_redirects=False)
        response.raise_for_status()
        key = x509.load_pem_x509_certificate(response.content).public_key()
    except Exception as exc:  # noqa: BLE001 — any failure means "not verified"
        raise WebhookValidationError(f"signing certificate unavailable ({type(exc).__name__})")
    with _certs_lock:
        if len(_certs) > 32:
            _certs.clear()
        _certs[cert_url] = key
    return key


class SnsAdapter(RequestsAdapter):
    """AWS SNS publish / End User Messaging send_text_message via boto3, SNS-signed callbacks."""

    type = "sns"
    # End User Messaging's MPS limits count message parts (segments).
    capabilities = Capabilities(
        max_batch_size=1, max_length=1600, delivery_reports=True, inbound=True, concurrency=16, counts_segments=True
    )
    config_spec = ProviderSettings(
        (
            Setting(
                "service",
                "AWS service",
                "SNS publish, or AWS End User Messaging SMS (pinpoint-sms-voice-v2) for two-way SMS and "
                "delivery events.",
                choices=(
                    ("", "SNS publish (default)"),
                    ("sns", "SNS publish"),
                    ("pinpoint-sms-voice-v2", "End User Messaging SMS (pinpoint-sms-voice-v2)"),
                ),
            ),
            Setting("region", "AWS region", "The region of the account's SMS set-up, e.g. us-east-1.", required=True),
            Setting(
                "accessKeyId",
                "Access key ID",
                "An IAM access key allowed to send SMS. Empty: the server's own AWS credentials (instance role, "
                "environment).",
            ),
            Setting("secretAccessKey", "Secret access key", "The secret of that access key.", secret=True),
            Setting(
                "originationIdentity",
                "Origination identity",
                "End User Messaging: the phone number, pool or sender ID (or its ARN) to send from.",
            ),
            Setting("senderId", "Sender ID", "SNS publish: the alphanumeric sender ID, where the country allows one."),
            Setting(
                "configurationSetName",
                "Configuration set",
                "End User Messaging: the configuration set whose event destination (an SNS topic) reports delivery.",
            ),
            Setting(
                "topicArns",
                "Callback topic ARNs",
                "Comma-separated SNS topic ARNs whose notifications this gateway accepts (two-way SMS and "
                "delivery events). Others are refused.",
                kind="list",
                section="Callbacks",
            ),
            Setting(
                "endpointUrl",
                "Endpoint URL",
                "Leave empty for AWS. Set it only for a local stand-in; private addresses are refused.",
                kind="url",
                section="Advanced",
            ),
        ),
        description="Amazon SNS or AWS End User Messaging SMS, through boto3.",
        webhooks_hint="Subscribe the inbound URL (HTTPS) to the SNS topic of your two-way number, and the status "
        "URL to the topic of the configuration set's event destination; the subscriptions confirm themselves.",
    )

    # -- sending ---------------------------------------------------------------------------

    @property
    def service(self) -> str:
        return "pinpoint-sms-voice-v2" if self.gateway.config.get("service") == "pinpoint-sms-voice-v2" else "sns"

    @property
    def region(self) -> str:
        return str(self.gateway.config.get("region") or "us-east-1")

    def client(self):
        import boto3
        from botocore.config import Config

        config = self.gateway.config
        secret = self.secret("secretAccessKey")
        key = (
            str(self.gateway.pk),
            self.service,
            self.region,
            str(config.get("endpointUrl") or ""),
            str(config.get("accessKeyId") or ""),
            hashlib.sha256(secret.encode()).hexdigest(),
        )
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                kwargs = {
                    "region_name": self.region,
                    "config": Config(
                        connect_timeout=min(5.0, float(settings.SMSPORTAL_HTTP_TIMEOUT)),
                        read_timeout=float(settings.SMSPORTAL_HTTP_TIMEOUT),
                        retries={"total_max_attempts": 1, "mode": "standard"},
                        max_pool_connections=self.capabilities.concurrency,
                    ),
                }
                if config.get("endpointUrl"):
                    kwargs["endpoint_url"] = str(config["endpointUrl"])
                if config.get("accessKeyId") and secret:
                    kwargs["aws_access_key_id"] = str(config["accessKeyId"])
                    kwargs["aws_secret_access_key"] = secret
                client = boto3.session.Session().client(self.service, **kwargs)
                if len(_clients) > 64:
                    _clients.clear()
                _clients[key] = client
        return client

    def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        endpoint = str(self.gateway.config.get("endpointUrl") or "")
        if endpoint:
            try:
                # boto3 opens its own connections, so the check is at resolution time here.
                aws_endpoint_check(endpoint)
            except UnsafeUrlError as exc:
                raise GatewayRejectedError(f"gateway URL refused: {exc}")
        client = self.client()
        return self.map_concurrent(lambda m: self._send_one(client, m), messages)

    def _send_one(self, client, message: OutboundSms) -> SendResult:
        config = self.gateway.config
        try:
            if self.service == "sns":
                attributes = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}
                origination = message.sender or str(config.get("originationIdentity") or "")
                if origination.startswith("+"):
                    attributes["AWS.MM.SMS.OriginationNumber"] = {"DataType": "String", "StringValue": origination}
                if config.get("senderId"):
                    attributes["AWS.SNS.SMS.SenderID"] = {"DataType": "String", "StringValue": str(config["senderId"])}
                reply = client.publish(PhoneNumber=message.to, Message=message.text, MessageAttributes=attributes)
            else:
                params = {
                    "DestinationPhoneNumber": message.to,
                    "MessageBody": message.text,
                    "MessageType": "TRANSACTIONAL",
                    "Context": {"reference": message.reference},
                }
                origination = message.sender or str(config.get("originationIdentity") or "")
                if origination:
                    params["OriginationIdentity"] = origination
                if config.get("configurationSetName"):
                    params["ConfigurationSetName"] = str(config["configurationSetName"])
                reply = client.send_text_message(**params)
        except Exception as exc:  # noqa: BLE001 — mapped to the gateway error classes below
            raise _map_boto_error(exc)
        message_id = str(reply.get("MessageId") or "")
        if not message_id:
            raise GatewayAmbiguousError("AWS answered without a MessageId")
        return SendResult(reference=message.reference, accepted=True, provider_message_id=message_id)

    # -- webhooks --------------------------------------------------------------------------

    def allowed_topics(self) -> set[str]:
        topics = self.gateway.config.get("topicArns") or []
        if isinstance(topics, str):
            topics = [t.strip() for t in topics.split(",")]
        return {str(t) for t in topics if t}

    def verify_request(self, request: HttpRequest, *, kind: str) -> None:
        envelope = request_json(request)
        if not isinstance(envelope, dict):
            raise WebhookValidationError("not an SNS message")
        kind_ = envelope.get("Type")
        if kind_ not in ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"):
            raise WebhookValidationError("unknown SNS message type")
        topic = str(envelope.get("TopicArn") or "")
        match = TOPIC_ARN.match(topic)
        if not match or topic not in self.allowed_topics():
            raise WebhookValidationError("SNS topic not allow-listed for this gateway")
        version = str(envelope.get("SignatureVersion") or "")
        if version not in ("1", "2"):
            raise WebhookValidationError("unsupported SNS SignatureVersion")
        cert_url = str(envelope.get("SigningCertURL") or envelope.get("SigningCertUrl") or "")
        if not cert_url_allowed(cert_url, match.group(1)):
            raise WebhookValidationError("SigningCertURL is not an SNS certificate URL for the topic's region")
        try:
            signature = base64.b64decode(str(envelope.get("Signature") or ""), validate=True)
        except ValueError:
            raise WebhookValidationError("SNS signature is not base64")
        digest = hashes.SHA256() if version == "2" else hashes.SHA1()  # noqa: S303 — SNS v1 is SHA1withRSA
        try:
            _public_key(cert_url).verify(signature, signing_string(envelope), padding.PKCS1v15(), digest)
        except (InvalidSignature, TypeError, ValueError):
            raise WebhookValidationError("SNS signature does not verify")
        fresh_check(parse_timestamp(envelope.get("Timestamp")), settings.SMSPORTAL_SNS_MAX_AGE_SECONDS, "SNS")

    def _notification_message(self, request: HttpRequest) -> dict | None:
        """The inner message of a verified Notification; confirms subscriptions on the way."""
        envelope = request_json(request) or {}
        kind = envelope.get("Type")
        if kind == "SubscriptionConfirmation":
            try:
                self.confirm_subscription(envelope)
            except Exception as exc:  # noqa: BLE001 — logged; SNS can be asked to resend the confirmation
                logger.warning(
                    "SNS subscription confirmation failed",
                    extra={"gateway": self.gateway.uid, "error": type(exc).__name__},
                )
            return None
        if kind == "UnsubscribeConfirmation":
            logger.warning("SNS unsubscribe confirmation received", extra={"gateway": self.gateway.uid})
            return None
        try:
            inner = json_loads(envelope.get("Message") or "")
        except HostileInput:
            raise
        except (TypeError, ValueError):
            return None
        return inner if isinstance(inner, dict) else None

    def confirm_subscription(self, envelope: dict) -> None:
        """Confirm a (verified, allow-listed) subscription: ConfirmSubscription, or GET the pinned SubscribeURL."""
        topic, token = str(envelope.get("TopicArn")), str(envelope.get("Token") or "")
        region = TOPIC_ARN.match(topic).group(1)
        if self.gateway.config.get("endpointUrl"):
            self.client_for("sns", region).confirm_subscription(TopicArn=topic, Token=token)
            logger.info("SNS subscription confirmed", extra={"gateway": self.gateway.uid})
            return
        url = str(envelope.get("SubscribeURL") or "")
        parts = urlsplit(url)
        if parts.scheme != "https" or (parts.hostname or "") not in (
            f"sns.{region}.amazonaws.com",
            f"sns.{region}.amazonaws.com.cn",
        ):
            logger.warning("SNS SubscribeURL host refused", extra={"gateway": self.gateway.uid})
            return
        http_session().get(url, timeout=10, allow_redirects=False)
        logger.info("SNS subscription confirmed", extra={"gateway": self.gateway.uid})

    def client_for(self, service: str, region: str):
        import boto3

        config = self.gateway.config
        kwargs = {"region_name": region, "endpoint_url": str(config["endpointUrl"])}
        if config.get("accessKeyId") and self.secret("secretAccessKey"):
            kwargs["aws_access_key_id"] = str(config["accessKeyId"])
            kwargs["aws_secret_access_key"] = self.secret("secretAccessKey")
        return boto3.session.Session().client(service, **kwargs)

    def parse_inbound(self, request: HttpRequest) -> list[InboundSms]:
        message = self._notification_message(request)
        if not message or not message.get("originationNumber") or message.get("messageBody") is None:
            return []
        envelope = request_json(request) or {}
        return [
            InboundSms(
                sender=normalise_number(message["originationNumber"]),
                recipient=normalise_number(message.get("destinationNumber")),
                text=str(message["messageBody"]),
                provider_message_id=str(message.get("inboundMessageId") or envelope.get("MessageId") or ""),
                received_at=parse_timestamp(envelope.get("Timestamp")),
                previous_published_message_id=str(message.get("previousPublishedMessageId") or ""),
                raw=message,
            )
        ]

    def parse_status(self, request: HttpRequest) -> list[StatusUpdate]:
        message = self._notification_message(request)
        if not message or not message.get("messageId"):
            return []
        event = str(message.get("eventType") or "")
        status = EVENT_STATUS.get(event)
        if status is None:
            return []
        failed = status in ("failed", "undelivered")
        context = message.get("context") if isinstance(message.get("context"), dict) else {}
        return [
            StatusUpdate(
                provider_message_id=str(message["messageId"]),
                status=status,
                error_code=event if failed else "",
                error_text=str(message.get("messageStatusDescription") or event) if failed else "",
                occurred_at=parse_timestamp(message.get("eventTimestamp")),
                raw=message,
                reference=str(context.get("reference") or ""),
            )
        ]


def _map_boto_error(exc: Exception) -> Exception:
    from botocore.exceptions import (
        ClientError,
        ConnectTimeoutError,
        EndpointConnectionError,
        NoCredentialsError,
        ReadTimeoutError,
    )

    if isinstance(exc, ConnectTimeoutError | EndpointConnectionError):
        return GatewayTemporaryError("AWS endpoint unreachable", result_code="RESULT_CODE_504")
    if isinstance(exc, ReadTimeoutError):
        return GatewayAmbiguousError("AWS read timeout: the message may have been accepted")
    if isinstance(exc, NoCredentialsError):
        return GatewayRejectedError("no AWS credentials configured")
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code") or "")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
        reason = str(error.get("Reason") or exc.response.get("Reason") or "")
        text = f"AWS {code}{(' ' + reason) if reason else ''}"
        if code in THROTTLING or status == 429:
            return GatewayTemporaryError(text, result_code="RESULT_CODE_429")
        if code in SERVER_ERRORS or status >= 500:
            return GatewayTemporaryError(text, result_code="RESULT_CODE_503" if status == 503 else "RESULT_CODE_504")
        return GatewayRejectedError(
            text, result_code=f"RESULT_CODE_{status}" if status in (400, 403, 404) else "FAILED"
        )
    return GatewayAmbiguousError(f"AWS call failed: {type(exc).__name__}")
