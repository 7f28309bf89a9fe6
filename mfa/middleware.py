"""A signed-in user who must use a second factor reaches only the sign-in pages until verified."""

from urllib.parse import urlencode

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

from mfa.services import mfa_required
from smsportal.exceptions import API_PREFIXES

# Sign-in, sign-out and the two-factor pages themselves; the admin's own logout.
EXEMPT_PREFIXES = ("/accounts/", "/admin/logout/", "/static/")


class RequireVerifiedMiddleware:
    """After django_otp's OTPMiddleware. Applies to session sign-ins only: API keys and HTTP Basic
    are authenticated later, by DRF, and never pass through here as a user."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not request.path_info.startswith(EXEMPT_PREFIXES)
            and not user.is_verified()
            and mfa_required(user)
        ):
            if request.path_info.startswith(API_PREFIXES):
                return JsonResponse({"error": "two-factor verification required: sign in again"}, status=403)
            query = urlencode({"next": request.get_full_path()})
            return redirect(f"{reverse('mfa:verify')}?{query}")
        return self.get_response(request)
