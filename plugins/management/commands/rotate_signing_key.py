"""`manage.py rotate_signing_key`: add a new plugin-JWT signing key; the old ones stay published until they expire."""

from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand

from plugins.signing import signing_key_rotate


class Command(BaseCommand):
    help = "Add a new RS512 signing key for plugin JWTs; older keys stay in the JWKS until --overlap has passed."

    def add_arguments(self, parser):
        parser.add_argument(
            "--overlap",
            type=int,
            default=settings.SMSPORTAL_SIGNING_KEY_OVERLAP_SECONDS,
            help="Seconds the previous keys stay published (default: SMSPORTAL_SIGNING_KEY_OVERLAP_SECONDS).",
        )

    def handle(self, *args, overlap, **options):
        key = signing_key_rotate(overlap=timedelta(seconds=overlap))
        self.stdout.write(f"new signing key {key.kid}; previous keys published for {overlap} more seconds")
