"""Moves django-otp's plaintext devices into mfa's: TOTP keys encrypted, recovery codes hashed.

The old rows are deleted; a session verified with an old device is asked for a code again.
"""

from django.db import migrations

SHARED = ["user_id", "name", "confirmed", "throttling_failure_timestamp", "throttling_failure_count"]
SHARED += ["created_at", "last_used_at"]
TOTP = ["key", "step", "t0", "digits", "tolerance", "drift", "last_t"]


def convert(apps, schema_editor):
    from mfa.models import code_digest

    old_totp, new_totp = apps.get_model("otp_totp", "TOTPDevice"), apps.get_model("mfa", "EncryptedTOTPDevice")
    for device in old_totp.objects.all():
        new_totp.objects.create(**{field: getattr(device, field) for field in SHARED + TOTP})
        device.delete()

    old_static, new_static = apps.get_model("otp_static", "StaticDevice"), apps.get_model("mfa", "RecoveryCodeDevice")
    code = apps.get_model("mfa", "RecoveryCode")
    # Only devices holding codes: a code-less static device (test sign-ins) has nothing to convert.
    for device in old_static.objects.filter(token_set__isnull=False).distinct():
        recovery = new_static.objects.create(**{field: getattr(device, field) for field in SHARED})
        code.objects.bulk_create(code(device=recovery, digest=code_digest(t.token)) for t in device.token_set.all())
        device.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("mfa", "0001_encrypted_devices"),
        ("otp_static", "0003_add_timestamps"),
        ("otp_totp", "0003_add_timestamps"),
    ]

    operations = [migrations.RunPython(convert, migrations.RunPython.noop)]
