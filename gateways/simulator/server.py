"""`ProviderSimulator`: the stand-in's lifecycle, its outbox and fault modes, and the dispatch of
each request to the provider module whose route it matches (gateways/simulator/providers/)."""

import asyncio
import itertools
import logging
import queue
import threading
import time
import uuid
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import requests
from requests.structures import CaseInsensitiveDict

from gateways.simulator import control, providers
from gateways.simulator.faults import Behaviour, next_behaviour
from gateways.simulator.http_server import Exchange, serve_connection
from gateways.simulator.outbox import IncomingReply, NoStatusUrl, RecordedRequest, SentMessage
from gateways.simulator.providers.aws_sns import SnsSigner

logger = logging.getLogger(__name__)


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
        self.record = record  # benchmarks turn it off: the deque would cost memory, not correctness
        self.bulksms_rendering = bulksms_rendering  # "spec" (flat) or "nested" (the webhook guide's)
        self.requests: deque[RecordedRequest] = deque(maxlen=max_records)
        self.messages: dict[str, SentMessage] = {}
        self.behaviours: list[Behaviour] = []
        self.status_urls: dict[str, str] = {}
        # Webhooks registered through a provider's API (SMS Gateway for Android): provider → event → URL.
        self.webhooks: dict[str, dict[str, str]] = {}
        self.auto_report: str | None = None  # a status to report automatically after each accepted send
        self.reports_posted = 0
        self.sns_topic_arn = "arn:aws:sns:us-east-1:111122223333:sms-events"
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._address: tuple[str, int] | None = None
        self._thread: threading.Thread | None = None
        self._report_queue: queue.Queue = queue.Queue()
        self._report_threads: list[threading.Thread] = []
        self.session = requests.Session()
        self.session.trust_env = False  # loopback only: never through a proxy from the environment
        self._sns_signer: SnsSigner | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        assert self._address is not None, "simulator not started"
        host, port = self._address
        return f"http://{host}:{port}"

    def start(self) -> "ProviderSimulator":
        loop = asyncio.new_event_loop()
        loop.set_default_executor(ThreadPoolExecutor(max_workers=16, thread_name_prefix="sim-slow"))

        async def listen():
            return await asyncio.start_server(
                lambda r, w: serve_connection(self, r, w), self.host, self.port, backlog=512
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
        self.session.close()

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
            self.webhooks.clear()
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

    # -- answering requests (called by gateways.simulator.http_server) ----------------------------

    def is_slow(self, exchange: Exchange) -> bool:
        """Control calls and injected behaviours may block (sleep, post back): run them off the event loop."""
        return exchange.path.startswith(control.PREFIX) or bool(self.behaviours)

    def handle(self, exchange: Exchange) -> None:
        if exchange.path.startswith(control.PREFIX):
            return control.handle(self, exchange)
        found = providers.route_for(exchange)
        if found is None:
            return exchange.send(404, {"error": "unknown path"})
        provider, route = found
        if not route.is_send:
            return route.handle(self, exchange, None)
        if self.record:
            headers = CaseInsensitiveDict(exchange.headers)
            self.requests.append(
                RecordedRequest(provider.name, exchange.method, exchange.path, exchange.query, headers, exchange.body)
            )
        rule = self._behaviour_for(provider.name)
        if rule and rule.delay:
            time.sleep(rule.delay)  # simulating a slow provider, not synchronising a test
        if rule and rule.status:
            headers = {"Retry-After": rule.retry_after} if rule.retry_after else None
            return exchange.send(rule.status, provider.error_body(rule.status, rule.error_code), headers=headers)
        route.handle(self, exchange, rule.error_code if rule else None)
        exchange.dropped = bool(rule and rule.drop)

    def _behaviour_for(self, provider: str) -> Behaviour | None:
        with self._lock:
            return next_behaviour(self.behaviours, provider)

    def next_number(self) -> int:
        """The simulator's running counter (message ids, submission ids)."""
        return next(self._ids)

    def new_id(self, provider: str) -> str:
        return providers.get(provider).new_id(self.next_number())

    def accept(self, message: SentMessage) -> None:
        with self._lock:
            self.messages[message.provider_message_id] = message
        if self.auto_report:
            self._report_queue.put((message.provider_message_id, self.auto_report, None, None))

    # -- reports and replies back to smsportal ---------------------------------------------

    @property
    def sns_signer(self) -> SnsSigner:
        if self._sns_signer is None:
            self._sns_signer = SnsSigner()  # an RSA key: only made when an AWS test needs it
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
        target = url or message.status_url or self.status_urls.get(message.provider, "")
        if not target:
            raise NoStatusUrl(message.provider)
        response = providers.get(message.provider).report(self, message, status, error_code, target)
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
        module = providers.get(provider)
        incoming = IncomingReply(
            sender, recipient, text, reply_id or self.new_id(provider), related_message_id, auth_token, account_sid
        )
        return module.reply(self, url, incoming)
