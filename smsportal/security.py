"""Request-level security: login throttling (django-axes) and its client address, the lockout
answer (JSON on API paths), TRACE, Cache-Control and the Content-Security-Policy."""

from csp.middleware import CSPMiddleware
from django.conf import settings
from django.http import HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils.cache import patch_cache_control

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


def client_ip(request) -> str | None:
    """The client's address for throttling and the audit trail.

    REMOTE_ADDR, unless BEHIND_TLS_PROXY is set: then the last X-Forwarded-For entry, the one the
    proxy itself appended (earlier entries are whatever the client sent, so never trusted).
    """
    if settings.BEHIND_TLS_PROXY:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded[-1]:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR")


TRACE_ALLOWED = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


class SecurityHeadersMiddleware:
    """`TRACE` is 405 everywhere; every answer Django renders is `Cache-Control: no-store`.

    Pages and API answers carry people and messages, so no browser or proxy may keep them; an
    answer that declares itself `public` (published keys) keeps its own caching.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method == "TRACE":
            response = HttpResponseNotAllowed(TRACE_ALLOWED, content=b"TRACE is not allowed\n")
        else:
            response = self.get_response(request)
        if "public" not in response.get("Cache-Control", ""):
            patch_cache_control(response, no_store=True)
        return response


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    """settings.CONTENT_SECURITY_POLICY, plus 'unsafe-eval' on admin pages: the admin theme's
    Alpine.js evaluates its `x-data` expressions (the portal keeps the strict policy)."""

    def get_policy_parts(self, request, response, report_only=False):
        parts = super().get_policy_parts(request, response, report_only)
        if not report_only and request.path_info.startswith("/admin/"):
            parts.update = {**(parts.update or {}), "script-src": ["'unsafe-eval'"]}
        return parts
