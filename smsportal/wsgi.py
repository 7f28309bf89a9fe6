"""The WSGI application: provider webhooks (/webhooks/…) go through a short middleware stack, every
other path through settings.MIDDLEWARE.

A webhook is a provider's signed POST, answered by a plain Django view (messaging/views_webhooks.py):
no session, user, CSRF token (the views are exempt), second factor, audit actor, flash messages,
static files or login lockout applies to it, and those middlewares were about a fifth of a
webhook's CPU. What a webhook relies on stays: a database outage is a 503 (providers retry),
HTTPS and security headers, TRACE refused, hostile query strings refused, common URL handling.
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


class WebhookHandler(WSGIHandler):
    """Django's WSGI handler with WEBHOOK_MIDDLEWARE instead of settings.MIDDLEWARE."""

    def load_middleware(self, is_async=False):
        from django.conf import settings

        # Django builds the chain from settings.MIDDLEWARE; swapped only while this handler is
        # built, once per process at import, before any request is served.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = [m for m in WEBHOOK_MIDDLEWARE if m in full]
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


class Application:
    def __init__(self):
        self.full = get_wsgi_application()  # sets Django up
        self.webhooks = WebhookHandler()

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        handler = self.webhooks if path.startswith(WEBHOOK_PREFIX) else self.full
        return handler(environ, start_response)


application = Application()
