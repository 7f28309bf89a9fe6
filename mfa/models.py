"""Two-factor devices whose secrets cannot be read back from the database (django-otp devices).

`EncryptedTOTPDevice` is django-otp's TOTP device with its key encrypted at rest (smsportal.crypto;
`rotate_encryption_keys` re-encrypts it). `RecoveryCodeDevice` holds single-use recovery codes as
keyed hashes (HMAC-SHA256 under SECRET_KEY; SECRET_KEY_FALLBACKS still match), compared in constant
time and deleted when used. django-otp finds both like its own devices (OTPMiddleware, `login`,
`devices_for_user`, `user_has_device`).
"""

import hmac

from django.conf import settings
from django.db import models
from django.utils.crypto import salted_hmac
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice, default_key, key_validator

from smsportal.crypto import EncryptedTextField

CODE_SALT = "mfa.recovery-code"


def code_digest(code: str, secret: str | None = None) -> str:
    """The stored form of a recovery code: not reversible without SECRET_KEY."""
    return salted_hmac(CODE_SALT, code, secret=secret or settings.SECRET_KEY, algorithm="sha256").hexdigest()


class EncryptedTOTPDevice(TimestampMixin, ThrottlingMixin, Device):
    """An authenticator app. The fields are django-otp's TOTPDevice's; `key` (hex) is Fernet ciphertext."""

    key = EncryptedTextField(default=default_key, validators=[key_validator], help_text="Hex key, encrypted.")
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1, help_text="The time step of the last accepted code (no replays).")

    class Meta(Device.Meta):
        verbose_name = "authenticator (TOTP) device"

    # django-otp's TOTP verification, replay guard, drift and QR URL, unchanged: they read only
    # the fields above, and `key` reads decrypted.
    bin_key = TOTPDevice.bin_key
    verify_token = TOTPDevice.verify_token
    get_throttle_factor = TOTPDevice.get_throttle_factor
    config_url = TOTPDevice.config_url
    _read_str_from_settings = TOTPDevice._read_str_from_settings


class RecoveryCodeDevice(TimestampMixin, ThrottlingMixin, Device):
    """A user's recovery codes: each signs in once, instead of the authenticator's code."""

    class Meta(Device.Meta):
        verbose_name = "recovery code device"

    get_throttle_factor = StaticDevice.get_throttle_factor

    def verify_token(self, token):
        if not self.verify_is_allowed()[0]:
            return False
        digests = [code_digest(token, secret) for secret in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]]
        match = None
        for code in self.codes.all():  # every code, every digest: no early exit to time
            for digest in digests:
                if hmac.compare_digest(code.digest, digest):
                    match = code
        # Deleting is the use: of two concurrent sign-ins with one code, only one deletes it.
        if match is None or RecoveryCode.objects.filter(pk=match.pk).delete()[0] != 1:
            self.throttle_increment()
            return False
        self.throttle_reset(commit=False)
        self.set_last_used_timestamp(commit=False)
        self.save()
        return True


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, related_name="codes", on_delete=models.CASCADE)
    digest = models.CharField(max_length=64)

    def __str__(self):
        return f"recovery code #{self.pk}"  # never the code, nor its hash
