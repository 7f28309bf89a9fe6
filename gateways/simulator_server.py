"""A local stand-in for the SMS providers, speaking their real wire formats over real HTTP.

`ProviderSimulator` serves, on one port:
- Clickatell  `POST /messages` (JSON, `Authorization: <key>`) and `GET /messages/http/send`;
- BulkSMS     `POST /v1/messages` (JSON array, Basic auth);
- Twilio      `POST /2010-04-01/Accounts/<sid>/Messages.json` (form, Basic auth);
- generic     any method on `/generic/...` (answers `{"id": ..., "status": "accepted"}`);
- AWS End User Messaging SMS v2 `SendTextMessage` (JSON 1.0 protocol, `X-Amz-Target`), whose
  delivery events it posts as SNS notifications signed with a local test certificate (`SnsSigner`).
It records every request, can be told to answer slowly, with 429/5xx or with a provider error
code, and posts delivery reports and replies back to smsportal in each provider's format —
Twilio's signed with `X-Twilio-Signature` using the auth token the send request carried.

Use it from tests (`with ProviderSimulator() as sim: sim.url`), from benchmarks, or from the
command line: `python manage.py provider_simulator --port 8025`. Control over HTTP, under `/_sim/`:
`POST /_sim/behave` {"provider", "status", "delay", "errorCode", "times"}, `POST /_sim/reset`,
`GET /_sim/requests`, `GET /_sim/messages`, `POST /_sim/config` {"statusUrls", "autoReport"},
`POST /_sim/deliver` {"providerMessageId", "status", "url"}, `POST /_sim/reply`
{"provider", "url", "from", "to", "text", "relatedMessageId"}. It never touches the database.
"""

import asyncio
import base64
import itertools
import json
import logging
import queue
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

logger = logging.getLogger(__name__)

PROVIDERS = ("clickatell", "bulksms", "twilio", "generic", "aws")


class NoStatusUrl(ValueError):
    """A delivery report for a provider whose status URL was never given (Twilio carries its own)."""

    def __init__(self, provider: str):
        super().__init__(f"no status URL known for {provider}: give --status-url {provider}=<statusUrl>")
        self.provider = provider


TWILIO_API_VERSION = "2010-04-01"

# Our status → each provider's delivery-report vocabulary.
CLICKATELL_CODES = {"sent": 3, "delivered": 4, "failed": 5, "undelivered": 7, "expired": 10, "queued": 2}
BULKSMS_STATUS = {
    "sent": ("SENT", None),
    "delivered": ("DELIVERED", None),
    "failed": ("FAILED", "NOT_SENT"),
    "undelivered": ("FAILED", "HANDSET_ERROR"),
    "expired": ("FAILED", "EXPIRED"),
    "accepted": ("ACCEPTED", None),
}


@dataclass
class RecordedRequest:
    """One request the simulator received, as it arrived."""

    provider: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)


@dataclass
class SentMessage:
    """A message the simulator accepted, with what it needs to report on it later."""

    provider: str
    provider_message_id: str
    to: str
    text: str
    sender: str = ""
    reference: str = ""
    status_url: str = ""
    account_sid: str = ""
    auth_token: str = ""
    created: str = field(default_factory=lambda: time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()))


@dataclass
class Behaviour:
    """How to answer the next matching send requests."""

    provider: str | None = None  # None: every provider
    status: int | None = None  # answer with this HTTP status (429, 5xx, 4xx)
    delay: float = 0.0  # seconds before answering
    error_code: str | None = None  # a provider error code in an otherwise normal reply
    times: int | None = None  # how many requests it applies to; None = until reset
    retry_after: str | None = None
    after: int = 0  # let this many matching requests through first
    drop: bool = False  # accept the message, then close the connection without answering


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    from twilio.request_validator import RequestValidator

    return RequestValidator(auth_token).compute_signature(url, params)


_PHRASES = {s.value: s.phrase for s in HTTPStatus}


async def _serve_connection(handler_cls, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """HTTP/1.1 with keep-alive, Content-Length bodies only (what provider clients send)."""
    loop = asyncio.get_running_loop()
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            try:
                method, target, version = lines[0].split(" ", 2)
            except ValueError:
                return
            headers = CaseInsensitiveDict()
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip()] = value.strip()
            if headers.get("Transfer-Encoding", "").lower() == "chunked":
                writer.write(b"HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
            length = int(headers.get("Content-Length") or 0)
            body = await reader.readexactly(length) if length else b""
            exchange = handler_cls(method, target, headers, body)
            if exchange.slow_path():
                await loop.run_in_executor(None, exchange.dispatch)
            else:
                exchange.dispatch()
            if exchange.dropped:
                return  # accepted, but the answer never leaves (the connection closes below)
            status, data, content_type, extra = exchange.response
            close = headers.get("Connection", "").lower() == "close" or version == "HTTP/1.0"
            out = [
                f"HTTP/1.1 {status} {_PHRASES.get(status, 'Status')}",
                f"Content-Type: {content_type}",
                f"Content-Length: {len(data)}",
                "Server: provider-simulator/1.0",
            ]
            out += [f"{k}: {v}" for k, v in extra.items()]
            if close:
                out.append("Connection: close")
            writer.write(("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + data)
            await writer.drain()
            if close:
                return
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
        return  # client gone, or the simulator is stopping
    finally:
        writer.close()


class ProviderSimulator:
    """The provider stand-in. Start with `.start()` (a daemon thread) or use as a context manager."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        record: bool = True,
        bulksms_rendering: str = "spec",
        max_records: int = 100_000,
    ):
        self.host, self.port = host, port
        self.record = record
        self.bulksms_rendering = bulksms_rendering  # "spec" (flat) or "nested" (the webhook guide's)
        self.requests: deque[RecordedRequest] = deque(maxlen=max_records)
        self.messages: dict[str, SentMessage] = {}
        self.behaviours: list[Behaviour] = []
        self.status_urls: dict[str, str] = {}
        self.auto_report: str | None = None  # a status to report automatically after each accepted send
        self.reports_posted = 0
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._address: tuple[str, int] | None = None
        self._thread: threading.Thread | None = None
        self._report_queue: queue.Queue = queue.Queue()
        self._report_threads: list[threading.Thread] = []
        self._session = requests.Session()
        self._session.trust_env = False
        self.sns_topic_arn = "arn:aws:sns:us-east-1:111122223333:sms-events"
        self._sns_signer: SnsSigner | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._address is not None, "simulator not started"
        host, port = self._address
        return f"http://{host}:{port}"

    def start(self) -> "ProviderSimulator":
        simulator = self

        class Handler(_Handler):
            sim = simulator

        loop = asyncio.new_event_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=16, thread_name_prefix="sim-slow"))

        async def listen():
            return await asyncio.start_server(
                lambda r, w: _serve_connection(Handler, r, w), self.host, self.port, backlog=512
            )

        # The loop runs in its own thread; nothing here touches the caller's (maybe running) loop.
        self._thread = threading.Thread(target=loop.run_forever, name="provider-simulator", daemon=True)
        self._thread.start()
        self._server = asyncio.run_coroutine_threadsafe(listen(), loop).result(timeout=10)
        self._address = self._server.sockets[0].getsockname()[:2]
        self._loop = loop
        for n in range(4):
            worker = threading.Thread(target=self._report_worker, name=f"sim-report-{n}", daemon=True)
            worker.start()
            self._report_threads.append(worker)
        return self

    def stop(self) -> None:
        for _ in self._report_threads:
            self._report_queue.put(None)
        if self._loop is not None and self._server is not None:
            loop, server = self._loop, self._server

            async def close():
                server.close()
                tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await server.wait_closed()
                await loop.shutdown_default_executor()

            try:
                asyncio.run_coroutine_threadsafe(close(), loop).result(timeout=5)
            except Exception:  # noqa: BLE001 — best effort: the thread is a daemon
                logger.warning("simulator did not close cleanly")
            loop.call_soon_threadsafe(loop.stop)
            if self._thread is not None:
                self._thread.join(timeout=5)
            if not loop.is_running():
                loop.close()
            self._loop = self._server = None
        self._session.close()

    def __enter__(self) -> "ProviderSimulator":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- control ---------------------------------------------------------------------------

    def behave(
        self,
        *,
        provider: str | None = None,
        status: int | None = None,
        delay: float = 0.0,
        error_code: str | None = None,
        times: int | None = None,
        retry_after: str | None = None,
        after: int = 0,
        drop: bool = False,
    ) -> None:
        """Answer the next `times` send requests (of `provider`) slowly, with `status`, or a provider error.

        `after` lets that many matching requests through normally first. `drop` accepts the
        message (it is counted, and reported on) and closes the connection without answering.
        """
        with self._lock:
            self.behaviours.append(Behaviour(provider, status, delay, error_code, times, retry_after, after, drop))

    def reset(self) -> None:
        with self._lock:
            self.behaviours.clear()
            self.requests.clear()
            self.messages.clear()
            self.status_urls.clear()
            self.auto_report = None
            self.reports_posted = 0

    def requests_for(self, provider: str) -> list[RecordedRequest]:
        return [r for r in list(self.requests) if r.provider == provider]

    def received(self, provider: str | None = None) -> dict[str, int]:
        """How many messages it accepted per recipient (of `provider`): a fault test's count of
        what really reached the provider (2 for one number = sent twice)."""
        counts: dict[str, int] = {}
        for message in list(self.messages.values()):
            if provider in (None, message.provider):
                counts[message.to] = counts.get(message.to, 0) + 1
        return counts

    def _behaviour_for(self, provider: str) -> Behaviour | None:
        with self._lock:
            for rule in self.behaviours:
                if rule.provider in (None, provider):
                    if rule.after > 0:
                        rule.after -= 1
                        return None
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self.behaviours.remove(rule)
                    return rule
        return None

    def _new_id(self, provider: str) -> str:
        n = next(self._ids)
        if provider == "twilio":
            return f"SM{uuid.uuid4().hex}"
        if provider == "bulksms":
            return str(1674811778896240640 + n)
        return uuid.uuid4().hex

    def _accept(self, message: SentMessage) -> None:
        with self._lock:
            self.messages[message.provider_message_id] = message
        if self.auto_report:
            self._report_queue.put((message.provider_message_id, self.auto_report, None, None))

    @property
    def sns_signer(self) -> "SnsSigner":
        if self._sns_signer is None:
            self._sns_signer = SnsSigner()
        return self._sns_signer

    def sns_envelope(self, message: str, *, kind: str = "Notification", version: str = "2", **extra) -> dict:
        """A signed SNS HTTPS envelope around `message`, as SNS posts it."""
        envelope = {
            "Type": kind,
            "MessageId": str(uuid.uuid4()),
            "TopicArn": self.sns_topic_arn,
            "Message": message,
            "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            **extra,
        }
        if kind == "Notification":
            envelope["UnsubscribeURL"] = "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x"
        return self.sns_signer.sign(envelope, version)

    # -- reports and replies back to smsportal ---------------------------------------------

    def _report_worker(self) -> None:
        while True:
            item = self._report_queue.get()
            if item is None:
                return
            try:
                self.deliver(*item)
            except NoStatusUrl as exc:
                logger.warning(
                    "simulator could not post a delivery report: no status URL for %s; start it with "
                    '--status-url %s=<the gateway\'s statusUrl> or POST /_sim/config {"statusUrls": {...}}',
                    exc.provider,
                    exc.provider,
                )
            except Exception:  # noqa: BLE001 — a report that cannot be posted is only logged
                logger.warning("simulator could not post a delivery report", exc_info=True)

    def deliver(
        self, provider_message_id: str, status: str = "delivered", url: str | None = None, error_code: str | None = None
    ) -> int:
        """Post a delivery report for a message it accepted, in that provider's format. Returns the HTTP status."""
        message = self.messages[provider_message_id]
        target = (
            url
            or (message.status_url if message.provider == "twilio" else "")
            or self.status_urls.get(message.provider, "")
        )
        if not target:
            raise NoStatusUrl(message.provider)
        headers: dict[str, str] = {}
        if message.provider == "twilio":
            form = {
                "MessageSid": message.provider_message_id,
                "SmsSid": message.provider_message_id,
                "MessageStatus": status,
                "SmsStatus": status,
                "AccountSid": message.account_sid,
                "From": message.sender,
                "To": message.to,
                "ApiVersion": TWILIO_API_VERSION,
            }
            if status in ("failed", "undelivered"):
                form["ErrorCode"] = error_code or "30003"
            headers["X-Twilio-Signature"] = twilio_signature(message.auth_token, target, form)
            response = self._session.post(target, data=form, headers=headers, timeout=15)
        elif message.provider == "clickatell":
            body = {
                "integrationName": "smsportal",
                "messageId": message.provider_message_id,
                "requestId": uuid.uuid4().hex,
                "clientMessageId": message.reference,
                "to": message.to,
                "from": message.sender,
                "statusCode": int(error_code) if error_code else CLICKATELL_CODES.get(status, 1),
                "status": status.upper(),
                "statusDescription": status,
                "timestamp": str(int(time.time() * 1000)),
            }
            response = self._session.post(target, json=body, timeout=15)
        elif message.provider == "bulksms":
            kind, sub = BULKSMS_STATUS.get(status, ("UNKNOWN", None))
            if error_code:
                kind, sub = "FAILED", error_code
            entry: dict[str, Any] = {
                "id": message.provider_message_id,
                "type": "SENT",
                "to": message.to,
                "userSuppliedId": message.reference,
                "numberOfParts": 1,
                "creditCost": 1.0,
                "submission": {"id": f"2-{next(self._ids):014d}", "date": _now_iso()},
                "unknownExtraField": "ignored",
            }
            if self.bulksms_rendering == "nested":
                entry["to"] = {"type": "INTERNATIONAL", "address": message.to}
                entry["status"] = {"condition": kind, "date": _now_iso(), "cause": sub, "final": kind != "SENT"}
            else:
                entry["status"] = {"id": f"{kind}.{sub or 'null'}", "type": kind, "subtype": sub}
            headers = {"X-BulkSMS-Event": "status-report", "X-BulkSMS-Delivery-Attempt": "1"}
            headers["User-Agent"] = "BulkSMS Invoker"
            response = self._session.post(target, json=[entry], headers=headers, timeout=15)
        elif message.provider == "aws":
            event = AWS_EVENTS.get(status, "TEXT_UNKNOWN")
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
            envelope = self.sns_envelope(json.dumps(record))
            headers = {"x-amz-sns-message-type": "Notification", "x-amz-sns-topic-arn": self.sns_topic_arn}
            headers["Content-Type"] = "text/plain; charset=UTF-8"
            response = self._session.post(target, data=json.dumps(envelope).encode(), headers=headers, timeout=15)
        else:
            form = {"id": message.provider_message_id, "status": status}
            if error_code:
                form["error"] = error_code
            response = self._session.post(target, data=form, timeout=15)
        with self._lock:
            self.reports_posted += 1
        return response.status_code

    def reply(
        self,
        provider: str,
        url: str,
        *,
        sender: str,
        recipient: str,
        text: str,
        related_message_id: str = "",
        auth_token: str = "",
        account_sid: str = "AC00000000000000000000000000000000",
        reply_id: str = "",
    ) -> requests.Response:
        """Post an incoming SMS (a patient's reply) to smsportal in `provider`'s format.

        Pass the same `reply_id` twice to simulate a provider retrying a webhook.
        """
        reply_id = reply_id or self._new_id(provider)
        if provider == "twilio":
            form = {
                "MessageSid": reply_id,
                "SmsSid": reply_id,
                "SmsMessageSid": reply_id,
                "AccountSid": account_sid,
                "From": sender,
                "To": recipient,
                "Body": text,
                "NumMedia": "0",
                "NumSegments": "1",
                "SmsStatus": "received",
                "ApiVersion": TWILIO_API_VERSION,
                "FromCountry": "US",
            }
            token = auth_token or next(
                (m.auth_token for m in self.messages.values() if m.provider == "twilio" and m.auth_token), ""
            )
            headers = {"X-Twilio-Signature": twilio_signature(token, url, form)}
            return self._session.post(url, data=form, headers=headers, timeout=15)
        if provider == "clickatell":
            body = {
                "integrationName": "smsportal",
                "messageId": related_message_id or uuid.uuid4().hex,
                "replyMessageId": reply_id,
                "fromNumber": sender.lstrip("+"),
                "toNumber": recipient.lstrip("+"),
                "timestamp": int(time.time() * 1000),
                "text": text,
                "charset": "UTF-8",
                "udh": "",
                "network": "SIM",
                "keyword": "",
            }
            return self._session.post(url, json=body, timeout=15)
        if provider == "bulksms":
            entry: dict[str, Any] = {
                "id": reply_id,
                "type": "RECEIVED",
                "from": sender,
                "to": recipient,
                "body": text,
                "encoding": "TEXT",
                "submission": {"id": f"2-{next(self._ids):014d}", "date": _now_iso()},
                "status": {"id": "RECEIVED.null", "type": "RECEIVED", "subtype": None},
            }
            if related_message_id:
                entry["relatedSentMessageId"] = related_message_id
            if self.bulksms_rendering == "nested":
                entry["from"] = {"type": "INTERNATIONAL", "address": sender}
                entry["to"] = {"type": "INTERNATIONAL", "address": recipient}
                entry["body"] = {"value": text, "encoding": {"type": "TEXT"}}
            headers = {"X-BulkSMS-Event": "incoming-message", "User-Agent": "BulkSMS Invoker"}
            return self._session.post(url, json=[entry], headers=headers, timeout=15)
        if provider == "aws":
            inner = {
                "originationNumber": sender,
                "destinationNumber": recipient,
                "messageKeyword": "KEYWORD_111122223333",
                "messageBody": text,
                "inboundMessageId": reply_id,
                "previousPublishedMessageId": related_message_id,
            }
            envelope = self.sns_envelope(json.dumps(inner))
            headers = {"x-amz-sns-message-type": "Notification", "Content-Type": "text/plain; charset=UTF-8"}
            return self._session.post(url, data=json.dumps(envelope).encode(), headers=headers, timeout=15)
        return self._session.post(
            url, data={"id": reply_id, "from": sender, "to": recipient, "text": text, "date": _now_iso()}, timeout=15
        )


AWS_EVENTS = {
    "sent": "TEXT_SUCCESSFUL",
    "delivered": "TEXT_DELIVERED",
    "undelivered": "TEXT_UNREACHABLE",
    "failed": "TEXT_INVALID",
    "expired": "TEXT_TTL_EXPIRED",
}


class SnsSigner:
    """Signs SNS envelopes like AWS does, with a locally generated key and self-signed certificate.

    smsportal trusts the certificate only when SMSPORTAL_SNS_TEST_CERTIFICATE holds its PEM
    (tests and demos); the certificate URL still has to be an SNS URL.
    """

    def __init__(self, region: str = "us-east-1"):
        import datetime

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID

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
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding

        from gateways.providers.sns import signing_string

        envelope = {**envelope, "SignatureVersion": version, "SigningCertURL": self.cert_url}
        digest = hashes.SHA256() if version == "2" else hashes.SHA1()  # noqa: S303 — SNS v1 is SHA1withRSA
        signature = self.key.sign(signing_string(envelope), padding.PKCS1v15(), digest)
        envelope["Signature"] = base64.b64encode(signature).decode()
        return envelope


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _basic_auth(headers) -> tuple[str, str]:
    value = headers.get("Authorization", "")
    if not value.startswith("Basic "):
        return "", ""
    try:
        user, _, password = base64.b64decode(value[6:]).decode().partition(":")
    except ValueError:
        return "", ""
    return user, password


class _Handler:
    """One request/response exchange; provider methods read `headers`/`path` and call `_send`."""

    sim: ProviderSimulator

    def __init__(self, method: str, path: str, headers: CaseInsensitiveDict, body: bytes):
        self.method, self.path, self.headers, self.body = method, path, headers, body
        self.response: tuple[int, bytes, str, dict] = (500, b"", "text/plain", {})
        self.dropped = False

    def _send(self, status: int, payload: Any = None, *, content_type: str = "application/json", headers=None):
        if isinstance(payload, bytes | str):
            data = payload.encode() if isinstance(payload, str) else payload
        else:
            data = json.dumps(payload).encode() if payload is not None else b""
        self.response = (status, data, content_type, dict(headers or {}))

    def slow_path(self) -> bool:
        """Control calls and injected behaviours may block (sleep, post back): run them off the event loop."""
        return self.path.startswith("/_sim/") or bool(self.sim.behaviours)

    def dispatch(self) -> "_Handler":
        method = self.method
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query, keep_blank_values=True)
        body = self.body
        if path.startswith("/_sim/"):
            self._control(method, path[len("/_sim/") :], body)
            return self
        if method == "GET" and path.startswith(f"/{TWILIO_API_VERSION}/Accounts/") and path.endswith("/Messages.json"):
            self._twilio_list(path, query)  # the status lookup: not a send, not recorded
            return self
        if self.headers.get("X-Amz-Target", "").startswith("PinpointSMSVoiceV2."):
            provider = "aws"
        elif path == "/messages" or path.startswith("/messages/http/send"):
            provider = "clickatell"
        elif path.startswith("/v1/messages"):
            provider = "bulksms"
        elif path.startswith(f"/{TWILIO_API_VERSION}/Accounts/") and path.endswith("/Messages.json"):
            provider = "twilio"
        elif path.startswith("/generic"):
            provider = "generic"
        else:
            self._send(404, {"error": "unknown path"})
            return self
        if self.sim.record:
            self.sim.requests.append(
                RecordedRequest(provider, method, path, query, CaseInsensitiveDict(self.headers), body)
            )
        rule = self.sim._behaviour_for(provider)
        if rule and rule.delay:
            time.sleep(rule.delay)  # simulating a slow provider, not synchronising a test
        if rule and rule.status:
            headers = {"Retry-After": rule.retry_after} if rule.retry_after else None
            self._send(rule.status, _error_body(provider, rule.status, rule.error_code), headers=headers)
            return self
        getattr(self, f"_{provider}")(method, path, query, body, rule.error_code if rule else None)
        self.dropped = bool(rule and rule.drop)
        return self

    def _control(self, method: str, action: str, body: bytes) -> None:
        sim = self.sim
        data = json.loads(body or b"{}") if body else {}
        if action == "behave" and method == "POST":
            sim.behave(
                provider=data.get("provider"),
                status=data.get("status"),
                delay=float(data.get("delay") or 0),
                error_code=data.get("errorCode"),
                times=data.get("times"),
                retry_after=data.get("retryAfter"),
                after=int(data.get("after") or 0),
                drop=bool(data.get("drop")),
            )
            return self._send(200, {"ok": True})
        if action == "reset" and method == "POST":
            sim.reset()
            return self._send(200, {"ok": True})
        if action == "config" and method == "POST":
            sim.status_urls.update(data.get("statusUrls") or {})
            if "autoReport" in data:
                sim.auto_report = data["autoReport"] or None
            return self._send(200, {"ok": True})
        if action == "requests":
            rows = [
                {
                    "provider": r.provider,
                    "method": r.method,
                    "path": r.path,
                    "query": r.query,
                    "headers": dict(r.headers),
                    "at": r.at,
                    "body": r.body.decode(errors="replace"),
                }
                for r in list(sim.requests)
            ]
            return self._send(200, {"requests": rows})
        if action == "messages":
            return self._send(200, {"messages": [m.__dict__ for m in sim.messages.values()]})
        if action == "deliver" and method == "POST":
            try:
                status = sim.deliver(
                    data["providerMessageId"], data.get("status", "delivered"), data.get("url"), data.get("errorCode")
                )
            except (KeyError, ValueError) as exc:
                return self._send(400, {"error": str(exc)})
            return self._send(200, {"posted": True, "responseStatus": status})
        if action == "reply" and method == "POST":
            try:
                response = sim.reply(
                    data["provider"],
                    data["url"],
                    sender=data["from"],
                    recipient=data.get("to", ""),
                    text=data["text"],
                    related_message_id=data.get("relatedMessageId", ""),
                    auth_token=data.get("authToken", ""),
                    reply_id=data.get("replyId", ""),
                )
            except KeyError as exc:
                return self._send(400, {"error": f"missing {exc}"})
            return self._send(200, {"posted": True, "responseStatus": response.status_code})
        return self._send(404, {"error": "unknown control action"})

    # -- providers -------------------------------------------------------------------------

    def _clickatell(self, method, path, query, body, error_code) -> None:
        if method == "GET":
            key = (query.get("apiKey") or [""])[0]
            to_list = ",".join(query.get("to") or []).split(",")
            content = (query.get("content") or [""])[0]
            sender = (query.get("from") or [""])[0]
            client_id = ""
        else:
            key = self.headers.get("Authorization", "")
            try:
                data = json.loads(body)
            except ValueError:
                return self._send(400, _error_body("clickatell", 400, "101"))
            to_list, content = data.get("to") or [], data.get("content", "")
            sender, client_id = data.get("from", ""), data.get("clientMessageId", "")
        if not key:
            return self._send(401, _error_body("clickatell", 401, "1"))
        if not to_list or not content:
            return self._send(400, _error_body("clickatell", 400, "101"))
        messages = []
        for n, number in enumerate(to_list):
            number = str(number)
            if error_code:
                messages.append(
                    {
                        "apiMessageId": None,
                        "accepted": False,
                        "to": number,
                        "errorCode": int(error_code) if error_code.isdigit() else error_code,
                        "error": "Invalid destination address.",
                        "errorDescription": "The destination address you attempted to send to is invalid.",
                    }
                )
                continue
            provider_id = self.sim._new_id("clickatell")
            self.sim._accept(
                SentMessage("clickatell", provider_id, number, content, sender, f"{client_id}:{n}" if client_id else "")
            )
            messages.append(
                {"apiMessageId": provider_id, "accepted": True, "to": number, "errorCode": None, "error": None}
            )
        self._send(202, {"messages": messages, "errorCode": None, "error": None, "errorDescription": None})

    def _bulksms(self, method, path, query, body, error_code) -> None:
        user, password = _basic_auth(self.headers)
        if not user or not password:
            return self._send(401, _error_body("bulksms", 401, None))
        try:
            data = json.loads(body)
        except ValueError:
            return self._send(400, _error_body("bulksms", 400, None))
        items = data if isinstance(data, list) else [data]
        out = []
        for item in items:
            targets = item.get("to")
            targets = targets if isinstance(targets, list) else [targets]
            for target in targets:
                number = target.get("address") if isinstance(target, dict) else str(target)
                provider_id = self.sim._new_id("bulksms")
                if error_code:
                    status = {"id": f"FAILED.{error_code}", "type": "FAILED", "subtype": error_code}
                else:
                    status = {"id": "ACCEPTED.null", "type": "ACCEPTED", "subtype": None}
                    sender = item.get("from") if isinstance(item.get("from"), str) else ""
                    self.sim._accept(
                        SentMessage(
                            "bulksms", provider_id, number, item.get("body", ""), sender, item.get("userSuppliedId", "")
                        )
                    )
                out.append(
                    {
                        "id": provider_id,
                        "type": "SENT",
                        "from": "",
                        "to": number,
                        "body": item.get("body", ""),
                        "encoding": "TEXT",
                        "protocolId": 0,
                        "messageClass": 2,
                        "numberOfParts": None,
                        "creditCost": None,
                        "userSuppliedId": item.get("userSuppliedId"),
                        "submission": {"id": f"2-{next(self.sim._ids):014d}", "date": _now_iso()},
                        "status": status,
                    }
                )
        self._send(201, out)

    def _twilio(self, method, path, query, body, error_code) -> None:
        account_sid = path.split("/")[3]
        user, token = _basic_auth(self.headers)
        if user != account_sid or not token:
            return self._send(401, _error_body("twilio", 401, "20003"))
        form = {k: v[0] for k, v in parse_qs(body.decode(), keep_blank_values=True).items()}
        if not form.get("To") or not form.get("Body") or not (form.get("From") or form.get("MessagingServiceSid")):
            return self._send(400, _error_body("twilio", 400, "21604"))
        if error_code:
            return self._send(400, _error_body("twilio", 400, error_code))
        sid = self.sim._new_id("twilio")
        self.sim._accept(
            SentMessage(
                "twilio",
                sid,
                form["To"],
                form["Body"],
                form.get("From", ""),
                "",
                form.get("StatusCallback", ""),
                account_sid,
                token,
            )
        )
        status = "accepted" if form.get("MessagingServiceSid") else "queued"
        self._send(
            201,
            {
                "sid": sid,
                "status": status,
                "to": form["To"],
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "body": form["Body"],
                "num_segments": "1",
                "direction": "outbound-api",
                "account_sid": account_sid,
                "error_code": None,
                "error_message": None,
                "date_created": time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime()),
                "price": None,
                "api_version": TWILIO_API_VERSION,
            },
        )

    def _twilio_list(self, path, query) -> None:
        """List Messages filtered by `To`, newest first."""
        account_sid = path.split("/")[3]
        user, token = _basic_auth(self.headers)
        if user != account_sid or not token:
            return self._send(401, _error_body("twilio", 401, "20003"))
        to = (query.get("To") or [""])[0]
        listed = [
            {
                "sid": m.provider_message_id,
                "to": m.to,
                "from": m.sender,
                "body": m.text,
                "status": "delivered",
                "date_created": m.created,
            }
            for m in reversed(list(self.sim.messages.values()))
            if m.provider == "twilio" and m.account_sid == account_sid and (not to or m.to == to)
        ]
        self._send(200, {"messages": listed, "next_page_uri": None, "page": 0, "page_size": len(listed)})

    def _aws(self, method, path, query, body, error_code) -> None:
        """AWS End User Messaging SMS v2 (awsJson1_0): SendTextMessage."""
        action = self.headers.get("X-Amz-Target", "").split(".", 1)[1]
        if not self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 "):
            return self._send(403, {"__type": "AccessDeniedException", "message": "missing SigV4"})
        if action != "SendTextMessage":
            return self._send(400, {"__type": "ValidationException", "message": f"unsupported {action}"})
        data = json.loads(body or b"{}")
        if error_code:
            return self._send(
                400 if error_code != "ThrottlingException" else 429,
                {"__type": error_code, "message": "simulated", "Reason": "DESTINATION_PHONE_NUMBER_OPTED_OUT"},
                content_type="application/x-amz-json-1.0",
            )
        message_id = str(uuid.uuid4())
        self.sim._accept(
            SentMessage(
                "aws",
                message_id,
                data.get("DestinationPhoneNumber", ""),
                data.get("MessageBody", ""),
                data.get("OriginationIdentity", ""),
                (data.get("Context") or {}).get("reference", ""),
            )
        )
        self._send(200, {"MessageId": message_id}, content_type="application/x-amz-json-1.0")

    def _generic(self, method, path, query, body, error_code) -> None:
        if error_code:
            return self._send(200, {"status": "error", "error": error_code})
        content_type = self.headers.get("Content-Type", "")
        recipients, text = "", ""
        if "json" in content_type:
            try:
                data = json.loads(body or b"{}")
            except ValueError:
                data = {}
            if isinstance(data, dict):
                recipients = data.get("recipients") or data.get("to") or ""
                text = data.get("text") or data.get("message") or ""
        else:
            fields = parse_qs(body.decode(errors="replace")) if body else query
            recipients = (fields.get("recipients") or fields.get("to") or [""])[0]
            text = (fields.get("text") or fields.get("message") or [""])[0]
        if isinstance(recipients, list):
            recipients = ",".join(recipients)
        provider_id = self.sim._new_id("generic")
        # One id per request: a multi-recipient request is one message to the simulator.
        self.sim._accept(SentMessage("generic", provider_id, str(recipients), str(text)))
        self._send(200, {"id": provider_id, "status": "accepted"})


def _error_body(provider: str, status: int, error_code: str | None) -> Any:
    if provider == "twilio":
        code = int(error_code) if error_code and error_code.isdigit() else 20500
        return {
            "code": code,
            "message": "simulated error",
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }
    if provider == "clickatell":
        return {
            "messages": [],
            "errorCode": int(error_code or 0) or status,
            "error": "simulated error",
            "errorDescription": "simulated",
        }
    if provider == "bulksms":
        return {
            "type": "https://developer.bulksms.com/json/v1/errors#simulated",
            "title": "Simulated error",
            "status": status,
            "detail": error_code or "simulated",
        }
    return {"status": "error", "error": error_code or str(status)}
