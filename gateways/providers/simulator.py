"""The built-in simulator: accepts every message without network I/O, then reports delivery.

The embedded default for the demo and tests; the portal's phone simulator shows what it
"delivered". Like a real provider it sends a delivery report a moment after accepting a message
(`delivered`, or `undelivered` for the numbers in `failNumbers`, or `failed` for every message),
through the same apply-or-park path a provider's status webhook takes, so `_smsStatus` plugins and
the portal's status timeline work in the demo. `outbox` keeps what was sent in this process, for tests.
"""

import logging
import uuid
from collections.abc import Sequence

from gateways.exceptions import ConfigError
from gateways.providers.base import Capabilities, OutboundSms, ProviderAdapter, SendResult
from gateways.providers.settings import ProviderSettings, Setting
from smsportal.enqueue import enqueue
from smsportal.phones import InvalidPhoneNumber, to_e164

logger = logging.getLogger(__name__)

REPORTS_TASK = "messaging.tasks.simulator_reports_task"
REPORT_DELAY_SECONDS = 2  # a real network's handset acknowledgement takes a moment
REPORT_CHOICES = (
    ("", "Delivered (like a phone that is on)"),
    ("failed", "Failed: every message (to see failures and alerts)"),
    ("off", "None: messages stay sent (a provider without delivery reports)"),
)


def _reports_rule(config: dict, secrets: dict, failed: set) -> None:
    """deliveryReports is one of REPORT_CHOICES; failNumbers are stored in E.164."""
    allowed = [value for value, _ in REPORT_CHOICES if value]
    if config.get("deliveryReports", "") not in ("", *allowed):
        raise ConfigError("deliveryReports must be empty (delivered), " + " or ".join(allowed), field="deliveryReports")
    if "failNumbers" not in config:
        return
    numbers = []
    for n, raw in enumerate(config["failNumbers"]):
        try:
            numbers.append(to_e164(raw))
        except InvalidPhoneNumber as exc:
            raise ConfigError(f"failNumbers[{n}]: {exc}", field="failNumbers") from None
    config["failNumbers"] = numbers


class SimulatorAdapter(ProviderAdapter):
    type = "simulator"
    label = "Simulator"
    capabilities = Capabilities(max_batch_size=500, dedupes_on_reference=True)
    config_spec = ProviderSettings(
        settings=(
            Setting(
                "deliveryReports",
                "Delivery reports",
                "What the simulated network reports a moment after each message is sent.",
                choices=REPORT_CHOICES,
                section="Delivery reports",
            ),
            Setting(
                "failNumbers",
                "Numbers that cannot be reached",
                "Messages to these numbers (E.164, comma-separated) are reported undelivered.",
                kind="list",
                section="Delivery reports",
            ),
        ),
        rules=(_reports_rule,),
        description="Sends nothing: the portal's phone simulator shows what it delivered and lets you reply, "
        "and it reports delivery like a real provider. For trying smsportal out.",
    )

    outbox: list[OutboundSms] = []

    def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        self.outbox.extend(messages)
        results = [
            SendResult(reference=m.reference, accepted=True, provider_message_id=f"sim-{uuid.uuid4().hex}")
            for m in messages
        ]
        self._reports_schedule(messages, results)
        return results

    def _report(self, sms: OutboundSms, result: SendResult) -> dict:
        mode = self.gateway.config.get("deliveryReports") or ""
        report = {"id": result.provider_message_id, "reference": sms.reference, "status": "delivered"}
        if mode == "failed":
            return {**report, "status": "failed", "errorCode": "SIM-FAILED", "errorText": "simulated network failure"}
        if sms.to in (self.gateway.config.get("failNumbers") or []):
            return {**report, "status": "undelivered", "errorCode": "SIM-UNREACHABLE", "errorText": "phone unreachable"}
        return report

    def _reports_schedule(self, messages: Sequence[OutboundSms], results: list[SendResult]) -> None:
        if (self.gateway.config.get("deliveryReports") or "") == "off" or self.gateway.pk is None:
            return
        reports = [self._report(sms, result) for sms, result in zip(messages, results, strict=True)]
        # The report arrives as a provider's webhook would: a separate task, after the send (enqueued by
        # name: gateways never import messaging).
        try:
            enqueue(REPORTS_TASK, str(self.gateway.pk), reports, countdown=REPORT_DELAY_SECONDS)
        except Exception:  # noqa: BLE001 — the send itself succeeded; a lost report only leaves it `sent`
            logger.warning("simulator delivery reports not enqueued", extra={"gateway": self.gateway.uid})
