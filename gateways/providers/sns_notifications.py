"""SNS HTTPS notifications, the envelope in which AWS posts two-way SMS and delivery events: what
SNS signs and how a notification is verified (docs: sns-verify-signature-of-message). Part of the
AWS provider (gateways/providers/sns.py); its stand-in signs with `signing_string` too.

The TopicArn must be allow-listed; SigningCertURL must be https://sns.<region of the topic>.
amazonaws.com/SimpleNotificationService-<hex>.pem (other hosts were a real CVE in django-ses); the
RSA signature (SignatureVersion 1 = SHA1, 2 = SHA256) over the canonical string must verify with
that certificate; the timestamp must be fresh. `SMSPORTAL_SNS_TEST_CERTIFICATE` (tests only)
supplies a locally generated certificate instead of fetching one; the URL checks still apply.
"""

import base64
import re
from functools import lru_cache
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.conf import settings

from gateways.exceptions import WebhookValidationError
from gateways.providers.httpbase import http_session
from gateways.providers.webhooks import fresh_check, parse_timestamp

NOTIFICATION_KEYS = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
SUBSCRIPTION_KEYS = ("Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type")
CERT_PATH = re.compile(r"^/SimpleNotificationService-[0-9a-fA-F]+\.pem$")
TOPIC_ARN = re.compile(r"^arn:aws(?:-cn|-us-gov)?:sns:([a-z0-9-]+):\d{12}:[A-Za-z0-9_.-]+$")


def signing_string(envelope: dict) -> bytes:
    """The canonical `Key\\nValue\\n` string SNS signs, keys in byte order, per message type."""
    keys = NOTIFICATION_KEYS if envelope.get("Type") == "Notification" else SUBSCRIPTION_KEYS
    return "".join(f"{k}\n{envelope[k]}\n" for k in keys if k in envelope and envelope[k] is not None).encode()


def sns_hosts(region: str) -> tuple[str, str]:
    return f"sns.{region}.amazonaws.com", f"sns.{region}.amazonaws.com.cn"


def cert_url_allowed(url: str, region: str) -> bool:
    parts = urlsplit(url)
    return (
        parts.scheme == "https"
        and parts.port in (None, 443)
        and (parts.hostname or "").lower() in sns_hosts(region)
        and bool(CERT_PATH.match(parts.path))
        and not parts.query
    )


def _public_key(cert_url: str):
    test_pem = getattr(settings, "SMSPORTAL_SNS_TEST_CERTIFICATE", "")
    if test_pem:
        return x509.load_pem_x509_certificate(test_pem.encode()).public_key()
    try:
        return _fetched_key(cert_url)
    except Exception as exc:  # noqa: BLE001 — any failure means "not verified" (and is not cached)
        raise WebhookValidationError(f"signing certificate unavailable ({type(exc).__name__})")


@lru_cache(maxsize=32)
def _fetched_key(cert_url: str):
    response = http_session().get(cert_url, timeout=5, allow_redirects=False)
    response.raise_for_status()
    return x509.load_pem_x509_certificate(response.content).public_key()


def topic_region(topic: str) -> str:
    return TOPIC_ARN.match(topic).group(1)


def notification_verify(envelope, *, topics: set[str]) -> None:
    """Raise WebhookValidationError unless `envelope` is a fresh SNS message, signed by SNS, from
    one of `topics`."""
    if not isinstance(envelope, dict):
        raise WebhookValidationError("not an SNS message")
    if envelope.get("Type") not in ("Notification", "SubscriptionConfirmation", "UnsubscribeConfirmation"):
        raise WebhookValidationError("unknown SNS message type")
    topic = str(envelope.get("TopicArn") or "")
    match = TOPIC_ARN.match(topic)
    if not match or topic not in topics:
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
