"""The public URLs providers call back (inbound replies, delivery reports), for the API, the admin and
the adapters that pass a per-message callback URL (Twilio's StatusCallback)."""

from django.conf import settings
from django.urls import reverse

from gateways.models import Gateway

# Providers that sign their callbacks; their URLs carry no token (the signature authenticates).
TOKENLESS_TYPES = {Gateway.Type.TWILIO, Gateway.Type.SNS}


def gateway_webhook_url(*, gateway: Gateway, kind: str, base_url: str | None = None) -> str:
    """The public URL a provider calls for `kind` ("inbound" or "status"), with the current token."""
    base = (base_url or settings.SMSPORTAL_PUBLIC_BASE_URL).rstrip("/")
    if gateway.type == Gateway.Type.CHT_GATEWAY:
        # The phone polls one URL for both directions, authenticated by HTTP Basic (no token).
        return f"{base}{reverse('gateways:cht-gateway', kwargs={'gateway_uid': gateway.pk})}"
    url = f"{base}{reverse(f'gateways:{kind}', kwargs={'gateway_uid': gateway.pk})}"
    tokens = gateway.webhook_tokens()
    if tokens and gateway.type not in TOKENLESS_TYPES:
        url = f"{url}?token={tokens[0]}"
    return url
