"""Superusers delete a user's devices here when phone and recovery codes are lost; no key is shown."""

from django.contrib import admin
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from entities.tenancy import PlatformAdmin
from mfa.models import EncryptedTOTPDevice, RecoveryCodeDevice

# django-otp's own admins would create devices with a plaintext key or codes.
for model in (TOTPDevice, StaticDevice):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


@admin.register(EncryptedTOTPDevice, RecoveryCodeDevice)
class DeviceAdmin(PlatformAdmin):
    """Superusers only: devices belong to logins, which are platform-wide."""

    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    search_fields = ["user__username", "user__email"]
    fields = ["user", "name", "confirmed", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # set up by the user at sign-in, so the key is shown to them alone
