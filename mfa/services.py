"""Who needs a second factor, and the TOTP + recovery-code devices (django-otp) behind it.

A superuser always needs one, an organization's staff when the organization requires it
(`Organization.require_two_factor`), and anyone who has set a device up. API keys never do.
With SMSPORTAL_MFA_ENFORCE off (the DEBUG=1 default) only those with a device are asked.
"""

from django.conf import settings
from django.db import transaction
from django_otp import devices_for_user, user_has_device
from django_otp.plugins.otp_static.models import StaticToken

from entities.selectors import organization_for_user
from mfa.models import EncryptedTOTPDevice, RecoveryCode, RecoveryCodeDevice, code_digest

TOTP_NAME = "authenticator app"
RECOVERY_NAME = "recovery codes"


def mfa_required(user) -> bool:
    """Whether this signed-in user must present a second factor before anything else."""
    if not getattr(user, "is_authenticated", False) or getattr(user, "pk", None) is None:
        return False
    if user_has_device(user):
        return True
    if not settings.SMSPORTAL_MFA_ENFORCE:
        return False
    if user.is_superuser:
        return True
    organization = organization_for_user(user)
    return bool(organization is not None and organization.require_two_factor)


def mfa_enabled(*, user_id) -> bool:
    """Whether the user has a confirmed authenticator (BioT's `_mfa.enabled`)."""
    return EncryptedTOTPDevice.objects.filter(user_id=user_id, confirmed=True).exists()


def totp_pending(user) -> EncryptedTOTPDevice:
    """The user's not-yet-confirmed authenticator: the secret the setup page shows until confirmed."""
    device = EncryptedTOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    return device or EncryptedTOTPDevice.objects.create(user=user, name=TOTP_NAME, confirmed=False)


@transaction.atomic
def totp_confirm(*, user, token: str) -> tuple[EncryptedTOTPDevice, list[str]] | None:
    """Confirm the pending authenticator with a code from it: (device, new recovery codes), or None."""
    device = EncryptedTOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("pk").first()
    if device is None or not device.verify_token(_digits(token)):
        return None
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    EncryptedTOTPDevice.objects.filter(user=user, confirmed=False).delete()
    return device, recovery_codes_replace(user=user)


@transaction.atomic
def recovery_codes_replace(*, user) -> list[str]:
    """New single-use recovery codes; the old ones stop working. Shown once, stored as keyed hashes."""
    device, _ = RecoveryCodeDevice.objects.get_or_create(user=user, name=RECOVERY_NAME, defaults={"confirmed": True})
    device.codes.all().delete()
    codes = [StaticToken.random_token() for _ in range(settings.SMSPORTAL_MFA_RECOVERY_CODES)]
    RecoveryCode.objects.bulk_create(RecoveryCode(device=device, digest=code_digest(code)) for code in codes)
    return codes


def token_verify(*, user, token: str):
    """The device a code belongs to (an authenticator code or an unused recovery code), or None.

    Each device counts its own failures (django-otp throttling: growing delays after failures).
    """
    token = token.strip().replace(" ", "").lower()
    if not token:
        return None
    with transaction.atomic():
        for device in devices_for_user(user, for_verify=True):
            candidate = _digits(token) if isinstance(device, EncryptedTOTPDevice) else token
            if candidate and device.verify_token(candidate):
                return device
    return None


def _digits(token: str) -> str:
    token = token.strip().replace(" ", "")
    return token if token.isdigit() else ""
