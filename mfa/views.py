"""The second sign-in step: set up an authenticator app (QR code), or enter its code."""

import segno
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import user_has_device

from mfa import services


def _next(request) -> str:
    following = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(following, allowed_hosts={request.get_host()}):
        return following
    return settings.LOGIN_REDIRECT_URL


@login_required
def verify(request):
    """Verified already: the status page. A device: enter its code. None yet: set one up."""
    user, following = request.user, _next(request)
    if user.is_verified():
        return render(request, "mfa/status.html", {"next": following})
    if not user_has_device(user):
        return _setup(request, following)
    error = ""
    if request.method == "POST":
        device = services.token_verify(user=user, token=request.POST.get("token", ""))
        if device is not None:
            otp_login(request, device)
            return redirect(following)
        error = "That code is not valid (or too many tries: wait a little and use a new code)."
    return render(request, "mfa/verify.html", {"next": following, "error": error}, status=400 if error else 200)


def _setup(request, following):
    user, error = request.user, ""
    if request.method == "POST":
        confirmed = services.totp_confirm(user=user, token=request.POST.get("token", ""))
        if confirmed is not None:
            device, codes = confirmed
            otp_login(request, device)
            return render(request, "mfa/recovery_codes.html", {"codes": codes, "next": following})
        error = "That code does not match: check the phone's clock and enter the current code."
    device = services.totp_pending(user)
    context = {
        "next": following,
        "error": error,
        "qr_svg": segno.make(device.config_url, error="m").svg_inline(scale=4, title="Authenticator QR code"),
        "secret": _grouped(device.bin_key),
        "required": services.mfa_required(user),  # a superuser only where second factors are enforced
    }
    return render(request, "mfa/setup.html", context, status=400 if error else 200)


@require_POST
@login_required
def recovery_codes(request):
    """Replace the recovery codes (verified users only: the middleware guarantees a verified session
    for anyone with a device, and one without a device has nothing to recover)."""
    if not request.user.is_verified():
        return redirect("mfa:verify")
    codes = services.recovery_codes_replace(user=request.user)
    return render(request, "mfa/recovery_codes.html", {"codes": codes, "next": _next(request)})


def _grouped(key: bytes) -> str:
    from base64 import b32encode

    text = b32encode(key).decode().rstrip("=")
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))
