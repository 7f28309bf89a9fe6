"""Login-failure throttling (django-axes): the lockout answer, JSON on API paths."""

from django.conf import settings
from django.http import HttpResponse, JsonResponse

from smsportal.exceptions import API_PREFIXES


def lockout_message() -> tuple[str, str]:
    """The lockout text and its Retry-After value (seconds)."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    return f"too many failed logins; try again in {seconds // 60} minutes", str(seconds)


def lockout_response(request, original_response=None, credentials=None) -> HttpResponse:
    message, retry_after = lockout_message()
    headers = {"Retry-After": retry_after}
    if request.path.startswith(API_PREFIXES):
        return JsonResponse({"error": message}, status=429, headers=headers)
    return HttpResponse(f"<h1>Locked out</h1><p>{message.capitalize()}.</p>", status=429, headers=headers)
