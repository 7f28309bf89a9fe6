"""The built-in simulator: accepts every message without network I/O.

The embedded default for the demo and tests; the portal's phone simulator shows what it
"delivered". `outbox` keeps what was sent in this process, for tests.
"""

import uuid
from collections.abc import Sequence

from gateways.providers.base import Capabilities, OutboundSms, ProviderAdapter, SendResult
from gateways.providers.settings import ProviderSettings


class SimulatorAdapter(ProviderAdapter):
    type = "simulator"
    label = "Simulator"
    capabilities = Capabilities(max_batch_size=500, dedupes_on_reference=True)
    config_spec = ProviderSettings(
        description="Accepts every message without sending anything: the portal's phone simulator shows what "
        "it delivered and lets you reply. For trying smsportal out; it has no settings.",
    )

    outbox: list[OutboundSms] = []

    def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        self.outbox.extend(messages)
        return [
            SendResult(reference=m.reference, accepted=True, provider_message_id=f"sim-{uuid.uuid4().hex}")
            for m in messages
        ]
