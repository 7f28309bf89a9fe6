"""The inbound pipeline: store (deduplicated) → route (sender lookup, correlation, commands) → plugins."""

from gateways.providers.base import InboundSms


def inbound_receive(*, organization, gateway, sms: InboundSms, gateway_label: str = "", source_ip: str | None = None):
    """Store one inbound SMS exactly once and schedule its routing. Returns (message, created)."""
    raise NotImplementedError("issue #4")
