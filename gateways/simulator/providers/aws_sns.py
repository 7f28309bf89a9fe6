"""AWS End User Messaging SMS v2: `SendTextMessage` over the JSON 1.0 protocol (recognised by
`X-Amz-Target`, SigV4 required), with delivery events and replies posted as SNS notifications
signed with a local certificate (`SnsSigner`)."""

import base64
import datetime
import json
import time
import uuid

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from gateways.providers.sns_notifications import signing_string
from gateways.simulator.outbox import SentMessage
from gateways.simulator.providers import Route, SimulatedProvider

TARGET_PREFIX = "PinpointSMSVoiceV2."
JSON_1_0 = "application/x-amz-json-1.0"
SNS_HEADERS = {"x-amz-sns-message-type": "Notification", "Content-Type": "text/plain; charset=UTF-8"}

# Our status → the SMS event type AWS publishes.
EVENTS = {
    "sent": "TEXT_SUCCESSFUL",
    "delivered": "TEXT_DELIVERED",
    "undelivered": "TEXT_UNREACHABLE",
    "failed": "TEXT_INVALID",
    "expired": "TEXT_TTL_EXPIRED",
}


def send(sim, exchange, error_code) -> None:
    action = exchange.headers.get("X-Amz-Target", "").split(".", 1)[1]
    if not exchange.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 "):
        return exchange.send(403, {"__type": "AccessDeniedException", "message": "missing SigV4"})
    if action != "SendTextMessage":
        return exchange.send(400, {"__type": "ValidationException", "message": f"unsupported {action}"})
    data = json.loads(exchange.body or b"{}")
    if error_code:
        return exchange.send(
            400 if error_code != "ThrottlingException" else 429,
            {"__type": error_code, "message": "simulated", "Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT"},
            content_type=JSON_1_0,
        )
    message_id = str(uuid.uuid4())
    sim.accept(
        SentMessage(
            "aws",
            message_id,
            data.get("DestinationPhoneNumber", ""),
            data.get("MessageBody", ""),
            data.get("OriginationIdentity", ""),
            (data.get("Context") or {}).get("reference", ""),
        )
    )
    exchange.send(200, {"MessageId": message_id}, content_type=JSON_1_0)


def _post_notification(sim, url: str, message: dict, headers: dict):
    envelope = sim.sns_envelope(json.dumps(message))
    return sim.session.post(url, data=json.dumps(envelope).encode(), headers=headers, timeout=15)


def report(sim, message, status, error_code, target):
    event = EVENTS.get(status, "TEXT_UNKNOWN")
    record = {
        "eventType": event,
        "eventVersion": "1.0",
        "eventTimestamp": int(time.time() * 1000),
        "isFinal": status != "sent",
        "originationPhoneNumber": message.sender,
        "destinationPhoneNumber": message.to,
        "messageId": message.provider_message_id,
        "messageStatus": event.removeprefix("TEXT_"),
        "messageStatusDescription": f"simulated {status}",
        "context": {"reference": message.reference},
        "totalMessageParts": 1,
    }
    return _post_notification(sim, target, record, {**SNS_HEADERS, "x-amz-sns-topic-arn": sim.sns_topic_arn})


def reply(sim, url, incoming):
    inbound = {
        "originationNumber": incoming.sender,
        "destinationNumber": incoming.recipient,
        "messageKeyword": "KEYWORD_111122223333",
        "messageBody": incoming.text,
        "inboundMessageId": incoming.reply_id,
        "previousPublishedMessageId": incoming.related_message_id,
    }
    return _post_notification(sim, url, inbound, SNS_HEADERS)


class SnsSigner:
    """Signs SNS envelopes like AWS does, with a locally generated key and self-signed certificate.

    smsportal trusts the certificate only when SMSPORTAL_SNS_TEST_CERTIFICATE holds its PEM
    (tests and demos); the certificate URL still has to be an SNS URL.
    """

    def __init__(self, region: str = "us-east-1"):
        self.region = region
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"sns.{region}.amazonaws.com")])
        now = datetime.datetime.now(datetime.UTC)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .sign(self.key, hashes.SHA256())
        )
        self.certificate_pem = cert.public_bytes(serialization.Encoding.PEM).decode()
        self.cert_url = f"https://sns.{region}.amazonaws.com/SimpleNotificationService-{uuid.uuid4().hex}.pem"

    def sign(self, envelope: dict, version: str = "2") -> dict:
        envelope = {**envelope, "SignatureVersion": version, "SigningCertURL": self.cert_url}
        digest = hashes.SHA256() if version == "2" else hashes.SHA1()  # noqa: S303 — SNS v1 is SHA1withRSA
        signature = self.key.sign(signing_string(envelope), padding.PKCS1v15(), digest)
        envelope["Signature"] = base64.b64encode(signature).decode()
        return envelope


PROVIDER = SimulatedProvider(
    name="aws",
    routes=(Route(send, header=("X-Amz-Target", TARGET_PREFIX)),),
    report=report,
    reply=reply,
)
