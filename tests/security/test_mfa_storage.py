"""Two-factor secrets at rest: the authenticator key is encrypted (and rotated with the other
secrets), recovery codes are kept as keyed hashes, and devices stored the old, plaintext way are
converted by the data migration and keep working."""

import importlib
import io
from base64 import b32encode

import pytest
from cryptography.fernet import Fernet
from django.apps import apps
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from mfa import services
from mfa.models import EncryptedTOTPDevice, RecoveryCodeDevice
from smsportal.crypto import decrypt
from tests.security.test_mfa import signed_in

pytestmark = pytest.mark.django_db

KEY = "3132333435363738393031323334353637383930"  # RFC 6238's test key, hex


def code_for(device) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"


def raw(column, table) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table}")  # noqa: S608 -- fixed names
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def root():
    return User.objects.create_superuser("root", "root@example.org", "pw")


def confirmed_device(user) -> tuple[EncryptedTOTPDevice, list[str]]:
    pending = services.totp_pending(user)
    return services.totp_confirm(user=user, token=code_for(pending))


def test_the_authenticator_key_is_stored_encrypted(root):
    device, _ = confirmed_device(root)
    hex_key = EncryptedTOTPDevice.objects.get(pk=device.pk).key

    [stored] = raw("key", "mfa_encryptedtotpdevice")

    assert hex_key not in stored and b32encode(device.bin_key).decode().rstrip("=") not in stored
    assert decrypt(stored) == hex_key  # Fernet, under SMSPORTAL_ENCRYPTION_KEY


def test_recovery_codes_are_stored_as_hashes_and_each_works_once(root):
    _, codes = confirmed_device(root)

    stored = raw("digest", "mfa_recoverycode")

    assert len(stored) == len(codes) == 10
    assert not any(code in digest for code in codes for digest in stored)
    assert isinstance(services.token_verify(user=root, token=codes[3].upper()), RecoveryCodeDevice)
    assert services.token_verify(user=root, token=codes[3]) is None  # used
    assert len(raw("digest", "mfa_recoverycode")) == 9


def test_codes_issued_before_a_secret_key_rotation_still_work(settings, root):
    _, codes = confirmed_device(root)

    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-only-0123456789"

    assert services.token_verify(user=root, token=codes[0]) is not None


def test_rotate_encryption_keys_re_encrypts_the_authenticator_key(settings, root):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SMSPORTAL_ENCRYPTION_KEY = [old]
    EncryptedTOTPDevice.objects.create(user=root, name="phone", key=KEY)
    settings.SMSPORTAL_ENCRYPTION_KEY = [new, old]

    out = io.StringIO()
    call_command("rotate_encryption_keys", stdout=out)

    [stored] = raw("key", "mfa_encryptedtotpdevice")
    assert "mfa.EncryptedTOTPDevice: 1 rows" in out.getvalue()
    assert Fernet(new.encode()).decrypt(stored.encode()).decode() == KEY
    settings.SMSPORTAL_ENCRYPTION_KEY = [new]  # the old key can go
    device = EncryptedTOTPDevice.objects.get(user=root)
    assert device.verify_token(code_for(device))


def test_plaintext_devices_are_converted_and_still_sign_in(root):
    """Devices set up before this change (django-otp's plaintext models), converted by the migration."""
    TOTPDevice.objects.create(user=root, name="authenticator app", key=KEY, confirmed=True)
    static = StaticDevice.objects.create(user=root, name="recovery codes", confirmed=True)
    StaticToken.objects.bulk_create(StaticToken(device=static, token=t) for t in ["abcd2345", "efgh6789"])

    importlib.import_module("mfa.migrations.0002_convert_plaintext_devices").convert(apps, None)

    assert not TOTPDevice.objects.exists() and not StaticToken.objects.exists()
    assert KEY not in raw("key", "mfa_encryptedtotpdevice")[0]
    assert "abcd2345" not in "".join(raw("digest", "mfa_recoverycode"))
    device = EncryptedTOTPDevice.objects.get(user=root)
    assert (
        signed_in("root").post("/accounts/two-factor/", {"token": code_for(device), "next": "/admin/"}).status_code
        == 302
    )
    recovery = signed_in("root")
    assert recovery.post("/accounts/two-factor/", {"token": "abcd2345", "next": "/admin/"}).status_code == 302
    assert recovery.get("/admin/").status_code == 200
    assert signed_in("root").post("/accounts/two-factor/", {"token": "abcd2345"}).status_code == 400
