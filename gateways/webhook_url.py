"""The public URLs providers call back (inbound replies, delivery reports), for the API and the admin;
whether a URL carries the webhook token is the adapter's declaration (`signed_webhooks`)."""

from gateways.models import Gateway
from gateways.providers import get_adapter


def gateway_webhook_url(*, gateway: Gateway, kind: str, base_url: str | None = None) -> str:
    """The public URL a provider calls for `kind` ("inbound" or "status"), with the current token."""
    return get_adapter(gateway).webhook_url(kind, base_url=base_url)
