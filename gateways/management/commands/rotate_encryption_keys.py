"""`manage.py rotate_encryption_keys`: re-encrypt every stored secret under the first key.

Rotation (docs/gateways.md): prepend a new Fernet key to SMSPORTAL_ENCRYPTION_KEY (keep the old
one after it), restart, run this command, then remove the old key. Works for every model field
that is an EncryptedJSONField or EncryptedTextField, in any app.
"""

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from smsportal.crypto import EncryptedJSONField, EncryptedTextField


class Command(BaseCommand):
    help = "Re-encrypt all encrypted fields with the first key of SMSPORTAL_ENCRYPTION_KEY."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500)

    def handle(self, *args, **options):
        total = 0
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedJSONField | EncryptedTextField)]
            if not fields:
                continue
            names = [f.attname for f in fields]
            count = 0
            # Reading decrypts with any configured key; writing encrypts with the first one.
            for obj in model._default_manager.only("pk", *names).iterator(chunk_size=options["batch_size"]):
                with transaction.atomic():
                    model._default_manager.filter(pk=obj.pk).update(**{n: getattr(obj, n) for n in names})
                count += 1
            total += count
            self.stdout.write(f"{model._meta.label}: {count} rows re-encrypted ({', '.join(names)})")
        self.stdout.write(self.style.SUCCESS(f"done: {total} rows"))
