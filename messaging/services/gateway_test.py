"""The admin's "send a test SMS": one message through exactly the chosen gateway, by the normal queue."""

from gateways.exceptions import ConfigError
from gateways.models import Gateway
from messaging.models import OutboundMessage
from messaging.services.outbound import messages_queue


def gateway_send_test(*, gateway: Gateway, recipient: str, body: str = "smsportal test message") -> OutboundMessage:
    """Queue one test SMS through exactly this gateway (admin action). Returns the OutboundMessage."""
    if gateway.organization is None:
        raise ConfigError("a test SMS needs an organization's gateway", field="organization")
    result = messages_queue(
        organization=gateway.organization,
        recipients=[recipient],
        body=body,
        source=OutboundMessage.Source.SYSTEM,
        gateway=gateway,
    )
    if result.refused:
        raise ConfigError(f"recipient refused: {result.refused[0][1]}", field="recipient")
    return result.messages[0]
