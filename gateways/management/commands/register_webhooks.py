"""`manage.py register_webhooks <gateway uid>`: register the gateway's webhook URLs through the
provider's API (SMS Gateway for Android), as the admin's "Register webhook URLs" action does."""

import uuid

from django.core.management.base import BaseCommand, CommandError

from gateways.exceptions import ConfigError, GatewayError
from gateways.models import Gateway
from gateways.services import gateway_webhooks_register


class Command(BaseCommand):
    help = "Register a gateway's inbound and status webhook URLs with the provider (SMS Gateway for Android)."

    def add_arguments(self, parser):
        parser.add_argument("gateway_uid")

    def handle(self, *args, gateway_uid, **options):
        try:
            gateway = Gateway.objects.filter(pk=uuid.UUID(gateway_uid)).first()
        except ValueError:
            gateway = None
        if gateway is None:
            raise CommandError(f"no gateway {gateway_uid}")
        try:
            registered = gateway_webhooks_register(gateway=gateway)
        except (ConfigError, GatewayError) as exc:
            raise CommandError(f"not registered: {exc}") from exc
        for item in registered:
            self.stdout.write(f"  {item.get('event')}: {item.get('url')} (id {item.get('id')})")
        self.stdout.write(f"{len(registered)} webhooks registered")
