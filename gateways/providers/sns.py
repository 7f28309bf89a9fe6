"""AWS: SNS `publish` to a phone number, or End User Messaging SMS (`pinpoint-sms-voice-v2`).

Send with boto3, one message per call, in parallel within a batch. Config (`config`):
`service` ("sns" default, or "pinpoint-sms-voice-v2"), `region`, `accessKeyId`, `endpointUrl`
(a local moto server or stand-in in tests), `originationIdentity`, `configurationSetName`,
`senderId`, `topicArns` (allow-list for callbacks). `secretAccessKey` is a secret; without keys
boto3's default credential chain is used.

Callbacks (two-way SMS and End User Messaging delivery events) arrive as SNS HTTPS notifications,
verified by gateways/providers/sns_notifications.py; subscriptions are confirmed only after that.
"""

import hashlib
import logging
import threading
from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest

from gateways.exceptions import (
    ConfigError,
    GatewayAmbiguousError,
    GatewayRejectedError,
    GatewayTemporaryError,
)
from gateways.providers.base import Capabilities, InboundSms, OutboundSms, SendResult, StatusUpdate
from gateways.providers.httpbase import RequestsAdapter, http_session
from gateways.providers.settings import ProviderSettings, Setting
from gateways.providers.sns_notifications import notification_verify, sns_hosts, topic_region
from gateways.providers.webhooks import normalise_number, parse_timestamp, request_json
from gateways.urlsafety import UnsafeUrlError, aws_endpoint_check
from smsportal.input_safety import HostileInput, json_loads

logger = logging.getLogger(__name__)


# End User Messaging event types → ours (reference B.2/B.6); pending/queued/unknown change nothing.
_UNDELIVERED = ("TEXT_UNREACHABLE", "TEXT_CARRIER_UNREACHABLE", "TEXT_TTL_EXPIRED")
_FAILED = (
    "TEXT_INVALID",
    "TEXT_INVALID_MESSAGE",
    "TEXT_BLOCKED",
    "TEXT_CARRIER_BLOCKED",
    "TEXT_SPAM",
    "TEXT_PROTECT_BLOCKED",
)
EVENT_STATUS = (
    {"TEXT_SUCCESSFUL": "sent", "TEXT_DELIVERED": "delivered"}
    | dict.fromkeys(_UNDELIVERED, "undelivered")
    | dict.fromkeys(_FAILED, "failed")
)
THROTTLING = {"Throttling", "ThrottlingException", "TooManyRequestsException", "ThrottledException"}
SERVER_ERRORS = {"InternalError", "InternalFailure", "InternalServerException", "ServiceUnavailable"}

_clients_lock = threading.Lock()
_clients: dict[tuple, object] = {}


# -- configuration rules (gateways.config runs them after reading every field) ------------------

SERVICES = ("sns", "pinpoint-sms-voice-v2")


def _service_rule(config: dict, secrets: dict, failed: set) -> None:
    if config.get("service", "sns") not in SERVICES:
        raise ConfigError("service must be one of " + ", ".join(SERVICES), field="service")


@lru_cache(maxsize=8)
def aws_regions(service: str) -> frozenset[str]:
    """The regions botocore knows for `service`, in every partition (from its bundled endpoint data)."""
    import boto3  # lazily, as in SnsAdapter.client()

    session = boto3.session.Session()
    return frozenset(
        region
        for partition in session.get_available_partitions()
        for region in session.get_available_regions(service, partition_name=partition)
    )


def _region_rule(config: dict, secrets: dict, failed: set) -> None:
    region, service = config.get("region"), config.get("service", "sns")
    if not region or "service" in failed or service not in SERVICES:
        return
    known = aws_regions(service)
    if known and region not in known:
        raise ConfigError(
            f"region {region!r} is not an AWS region of {service}: e.g. " + ", ".join(sorted(known)[:5]) + ", …",
            field="region",
        )


def _endpoint_rule(config: dict, secrets: dict, failed: set) -> None:
    if config.get("endpointUrl") and "endpointUrl" not in failed:
        try:
            aws_endpoint_check(str(config["endpointUrl"]))
        except UnsafeUrlError as exc:
            raise ConfigError(f"endpointUrl: {exc}", field="endpointUrl")


class SnsAdapter(RequestsAdapter):
    """AWS SNS publish / End User Messaging send_text_message via boto3, SNS-signed callbacks."""

    type = "sns"
    label = "AWS SNS / End User Messaging"
    signed_webhooks = True  # SNS message signatures
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
        rules=(_service_rule, _region_rule, _endpoint_rule),
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

    def client(self, service: str = "", region: str = ""):
        """A boto3 client for this gateway's account (its own service and region unless named),
        reused while the configuration is unchanged."""
        # boto3 is imported here, by the processes that send through AWS, not with the registry:
        # its ~17,000 objects would slow every web process's garbage collection (docs/performance.md).
        import boto3
        from botocore.config import Config

        config, secret = self.gateway.config, self.secret("secretAccessKey")
        service, region = service or self.service, region or self.region
        endpoint, access_key = str(config.get("endpointUrl") or ""), str(config.get("accessKeyId") or "")
        key = (str(self.gateway.pk), service, region, endpoint, access_key, hashlib.sha256(secret.encode()).hexdigest())
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                timeout = float(settings.SMSPORTAL_HTTP_TIMEOUT)
                kwargs = {
                    "region_name": region,
                    "config": Config(
                        connect_timeout=min(5.0, timeout),
                        read_timeout=timeout,
                        retries={"total_max_attempts": 1, "mode": "standard"},
                        max_pool_connections=self.capabilities.concurrency,
                    ),
                }
                if endpoint:
                    kwargs["endpoint_url"] = endpoint
                if access_key and secret:
                    kwargs |= {"aws_access_key_id": access_key, "aws_secret_access_key": secret}
                client = boto3.session.Session().client(service, **kwargs)
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
        notification_verify(request_json(request), topics=self.allowed_topics())

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
        region = topic_region(topic)
        if self.gateway.config.get("endpointUrl"):
            self.client("sns", region).confirm_subscription(TopicArn=topic, Token=token)
            logger.info("SNS subscription confirmed", extra={"gateway": self.gateway.uid})
            return
        url = str(envelope.get("SubscribeURL") or "")
        parts = urlsplit(url)
        if parts.scheme != "https" or (parts.hostname or "") not in sns_hosts(region):
            logger.warning("SNS SubscribeURL host refused", extra={"gateway": self.gateway.uid})
            return
        http_session().get(url, timeout=10, allow_redirects=False)
        logger.info("SNS subscription confirmed", extra={"gateway": self.gateway.uid})

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
    from botocore.exceptions import (  # lazily, as in client()
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
