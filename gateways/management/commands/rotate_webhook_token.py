"""`manage.py rotate_webhook_token <gateway uid> [--retire]`: new webhook URL, old one valid until retired."""

from django.core.management.base import BaseCommand, CommandError

from gateways.models import Gateway
from gateways.services import gateway_retire_webhook_token, gateway_rotate_webhook_token
from gateways.webhook_url import gateway_webhook_url


class Command(BaseCommand):
    help = "Issue a new webhook token for a gateway (two stay valid), or --retire the previous one."

    def add_arguments(self, parser):
        parser.add_argument("gateway_uid")
        parser.add_argument("--retire", action="store_true", help="Drop the previous token.")

    def handle(self, *args, gateway_uid, retire, **options):
        gateway = Gateway.objects.filter(pk=gateway_uid).first()
        if gateway is None:
            raise CommandError(f"no gateway {gateway_uid}")
        if retire:
            gateway_retire_webhook_token(gateway=gateway)
            self.stdout.write("previous webhook token retired")
            return
        gateway_rotate_webhook_token(gateway=gateway)
        self.stdout.write("new webhook URLs (the previous token stays valid until --retire):")
        self.stdout.write(f"  inbound: {gateway_webhook_url(gateway=gateway, kind='inbound')}")
        self.stdout.write(f"  status:  {gateway_webhook_url(gateway=gateway, kind='status')}")
