"""The WSGI application: provider webhooks (/webhooks/…) and cookieless API calls go through short
middleware stacks, every other request through settings.MIDDLEWARE.

A webhook is a provider's signed POST, answered by a plain Django view (messaging/views_webhooks.py):
no session, user, CSRF token (the views are exempt), second factor, audit actor, flash messages,
static files or login lockout applies to it, and those middlewares were about a fifth of a
webhook's CPU. What a webhook relies on stays: a database outage is a 503 (providers retry),
HTTPS and security headers, TRACE refused, hostile query strings refused, common URL handling.

An API call without a cookie (an integrator's API key or HTTP Basic: every view under API_PREFIXES
is a DRF view, which authenticates it itself) cannot be a session user's: sessions, CSRF, the
second factor, flash messages, static files and the HTML pages' Content-Security-Policy have
nothing to do for it (a fifth of a single send's CPU in the web process). The audit actor and the
login lockout stay: API keys and Basic users change audited rows and are locked out after failures.
A browser's API calls carry the session cookie and get the full stack.
"""

import os

from django.core.handlers.wsgi import WSGIHandler
from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "smsportal.settings")

WEBHOOK_PREFIX = "/webhooks/"
WEBHOOK_MIDDLEWARE = [
    "smsportal.middleware.DatabaseOutageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "smsportal.security.SecurityHeadersMiddleware",
    "django.middleware.common.CommonMiddleware",
    "smsportal.middleware.HostileQueryMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

API_PREFIXES = ("/api/", "/notification/", "/dispatcher/")
API_FULL_STACK = ("/api/docs/", "/api/schema/")  # pages for people, read in a browser
API_MIDDLEWARE = [
    "smsportal.middleware.DatabaseOutageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "smsportal.security.SecurityHeadersMiddleware",
    "django.middleware.common.CommonMiddleware",
    "smsportal.middleware.HostileQueryMiddleware",
    "audit.middleware.AuditActorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]


class ShortStackHandler(WSGIHandler):
    """Django's WSGI handler with `middleware` (a subset of settings.MIDDLEWARE, in its order)."""

    def __init__(self, middleware: list[str]):
        self.middleware = middleware
        super().__init__()

    def load_middleware(self, is_async=False):
        from django.conf import settings

        # Django builds the chain from settings.MIDDLEWARE; swapped only while this handler is
        # built, once per process at import, before any request is served.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = [m for m in self.middleware if m in full]
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


class Application:
    def __init__(self):
        self.full = get_wsgi_application()  # sets Django up
        self.webhooks = ShortStackHandler(WEBHOOK_MIDDLEWARE)
        self.api = ShortStackHandler(API_MIDDLEWARE)

    def handler_for(self, environ) -> WSGIHandler:
        path = environ.get("PATH_INFO", "")
        if path.startswith(WEBHOOK_PREFIX):
            return self.webhooks
        if path.startswith(API_PREFIXES) and "HTTP_COOKIE" not in environ and not path.startswith(API_FULL_STACK):
            return self.api
        return self.full

    def __call__(self, environ, start_response):
        return self.handler_for(environ)(environ, start_response)


application = Application()
