"""smsportal settings: one module, every deploy-varying value from the environment.

Unset environment → the embedded default: SQLite and Celery in eager mode.
Production sets DATABASE_URL (PostgreSQL), CELERY_BROKER_URL/REDIS_URL, SECRET_KEY,
SMSPORTAL_ENCRYPTION_KEY, ALLOWED_HOSTS and DEBUG=0. See README "Configuration".
"""

import warnings
from datetime import timedelta
from pathlib import Path

import environ
from django.templatetags.static import static

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()

# GENERAL
# https://docs.djangoproject.com/en/5.2/ref/settings/
DEBUG = env.bool("DEBUG", default=False)
DEVELOPMENT_SECRET_KEY = "django-insecure-dev-only-change-me-in-production"  # refused by check --deploy
SECRET_KEY = env("SECRET_KEY", default=DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
TIME_ZONE = "UTC"
USE_TZ = True
# 24-hour, day before month, as the portal writes them (smsportal/formats/en/formats.py).
FORMAT_MODULE_PATH = ["smsportal.formats"]
LANGUAGE_CODE = "en-us"
USE_I18N = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
ROOT_URLCONF = "smsportal.urls"
WSGI_APPLICATION = "smsportal.wsgi.application"
ASGI_APPLICATION = "smsportal.asgi.application"

INSTALLED_APPS = [
    # The admin theme: before django.contrib.admin so its templates win (docs/admin.md).
    "unfold",
    "unfold.contrib.filters",
    "unfold.contrib.import_export",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "phonenumber_field",
    "import_export",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "auditlog",
    "smsportal",
    "entities",
    "gateways",
    "messaging",
    "plugins",
    "adherence",
    "portal",
    "mfa",
    "audit",
]

MIDDLEWARE = [
    # First: a database outage anywhere below is a 503, and a dead pooled connection is replaced.
    "smsportal.middleware.DatabaseOutageMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files are answered here, with their own caching (and 405 to anything but GET/HEAD).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Everything else: TRACE answered 405, Cache-Control: no-store on every answer.
    "smsportal.security.SecurityHeadersMiddleware",
    "smsportal.security.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "smsportal.middleware.HostileQueryMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # A signed-in user who must use a second factor reaches nothing but the two-factor pages first.
    "mfa.middleware.RequireVerifiedMiddleware",
    # Who changed what (django-auditlog): the session user here; API keys and HTTP Basic users are
    # added by entities.authentication when DRF authenticates them.
    "audit.middleware.AuditActorMiddleware",
    # The admin's times in the acting organization's zone (entities/middleware.py).
    "entities.middleware.AdminTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes requires: turns a lockout flagged during authentication into a 429.
    "axes.middleware.AxesMiddleware",
]

# The project's own templates (portal pages, admin overrides, the second-factor pages) all live in
# top-level templates/, which is searched before every app's: a file there replaces the same path
# of an installed app, so only deliberate admin overrides reuse such a path
# (tests/core/test_template_layout.py). APP_DIRS serves the installed apps' own templates.
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
# WhiteNoise serves STATIC_ROOT in production (after `collectstatic`); in development the
# finders serve app static files directly, so an absent STATIC_ROOT is expected.
WHITENOISE_USE_FINDERS = DEBUG
# `collectstatic` also writes gzip copies that WhiteNoise serves to browsers accepting them. Not the
# manifest (hashed names) variant: `{% static %}` would then fail wherever collectstatic has not run.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
warnings.filterwarnings("ignore", message="No directory at")
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/portal/"

# DATABASES
# https://docs.djangoproject.com/en/5.2/ref/settings/#databases
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
# Persistent connections: ~5x throughput on the accept path (docs/performance.md).
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
# Off by default: a health check is a SELECT 1 round trip at the start of every request (a fifth of
# a single send's time). Without it, a database restart costs each web process one failed request.
DATABASES["default"]["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves a threaded dev server and eager tasks from one file.
    DATABASES["default"]["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0

# CACHES / REDIS
REDIS_URL = env("REDIS_URL", default="")

# CELERY
# https://docs.celeryq.dev/en/stable/userguide/configuration.html
_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
# No broker configured → run tasks in-process (the embedded default for `make run`).
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not _BROKER_URL)
# Eager tasks publish nothing, yet kombu still describes the broker connection: an empty URL means
# AMQP on localhost and a "No hostname was supplied" warning each time. The in-memory transport, with
# a hostname, warns about nothing and can never reach a real broker by mistake.
CELERY_BROKER_URL = _BROKER_URL or ("memory://localhost/" if CELERY_TASK_ALWAYS_EAGER else "")
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_ACKS_LATE = True
# Redis: no acknowledgement emulation (kombu's "unacked" hash, written and cleared for every task,
# a third of a worker's CPU per task at low rates; docs/performance.md). Nothing relies on it: it
# would restore a killed worker's task only after its visibility timeout (an hour), while every
# task's work is recorded in PostgreSQL and its sweeper resumes it within a minute
# (docs/reliability.md); a warm shutdown still returns tasks not yet started to the queue.
if CELERY_BROKER_URL.startswith(("redis://", "rediss://", "redis+socket://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"ack_emulation": False}
CELERY_TASK_REJECT_ON_WORKER_LOST = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_TIME_LIMIT = 300
# Keep worker DB connections across tasks (Celery closes them around every task otherwise: ×2.2,
# docs/performance.md); reconnect after this many tasks. CONN_MAX_AGE/health checks still apply.
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=1000)
CELERY_TASK_SOFT_TIME_LIMIT = 240
# Where beat keeps its last-run times (systemd: the unit's StateDirectory, docs/deploy.md).
CELERY_BEAT_SCHEDULE_FILENAME = env("CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / "celerybeat-schedule"))
CELERY_BEAT_SCHEDULE = {
    "messaging-sweep": {"task": "messaging.tasks.outbound_sweep_task", "schedule": 30.0},
    "adherence-tick": {"task": "adherence.tasks.adherence_tick_task", "schedule": 30.0},
    "adherence-materialize": {"task": "adherence.tasks.adherence_materialize_task", "schedule": 600.0},
    "adherence-follow-up": {"task": "adherence.tasks.follow_up_sweep_task", "schedule": 600.0},
    "inbound-sweep": {"task": "messaging.tasks.inbound_sweep_task", "schedule": 30.0},
    "plugins-sweep": {"task": "plugins.tasks.plugins_sweep_task", "schedule": 30.0},
}

# REST FRAMEWORK / OPENAPI
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "entities.authentication.ApiKeyAuthentication",
        "entities.authentication.AuditedBasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["entities.permissions.HasOrganization"],
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "smsportal.negotiation.ContentNegotiation",
    # NUL characters, lone surrogates and deep nesting are 400s naming the field (smsportal/parsers.py).
    "DEFAULT_PARSER_CLASSES": [
        "smsportal.parsers.SafeJSONParser",
        "smsportal.parsers.SafeFormParser",
        "smsportal.parsers.SafeMultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "smsportal.exceptions.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "smsportal.pagination.BoundedLimitOffsetPagination",
    "PAGE_SIZE": 50,
    "UNAUTHENTICATED_USER": None,
}

# The OpenAPI schema and its docs page: their own module (tags, enum names).
from smsportal.settings_openapi import SPECTACULAR_SETTINGS  # noqa: E402, F401

# LOGIN THROTTLING (django-axes): HTTP Basic on the API, admin and portal logins.
# https://django-axes.readthedocs.io/en/latest/4_configuration.html
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
# One username from one address, and one address whatever the usernames (a password spray).
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
# The client address: REMOTE_ADDR, or behind a proxy (BEHIND_TLS_PROXY=1) the address the proxy
# appended to X-Forwarded-For. Without this every login behind a proxy shares the proxy's address.
AXES_CLIENT_IP_CALLABLE = "smsportal.security.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "smsportal.security.lockout_response"
AXES_VERBOSE = False

# SECURITY (production values come from the environment; `check --deploy` verifies them)
BEHIND_TLS_PROXY = env.bool("BEHIND_TLS_PROXY", default=False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if BEHIND_TLS_PROXY else None
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
# Secure cookies whenever DEBUG=0 (the demo's plain-HTTP runserver is DEBUG=1); SECURE_COOKIES=0
# turns them off explicitly (plain HTTP on a trusted network, not recommended).
SESSION_COOKIE_SECURE = env.bool("SECURE_COOKIES", default=not DEBUG)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# A staff session lasts a shift at most and ends when the browser closes.
SESSION_COOKIE_AGE = int(env.float("SESSION_HOURS", default=12) * 3600)
SESSION_EXPIRE_AT_BROWSER_CLOSE = env.bool("SESSION_EXPIRE_AT_BROWSER_CLOSE", default=True)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
# CONTENT SECURITY POLICY (django-csp): same-origin everything; the admin theme's Alpine.js needs
# 'unsafe-eval' on /admin/ only (smsportal.security.ContentSecurityPolicyMiddleware) and inline
# styles. Swagger UI (/api/docs/) renders an inline script and is left out.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/docs/"],
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],  # the portal's live updates (EventSource, same origin)
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}

# TWO-FACTOR (django-otp, mfa app): superusers always, an organization's staff when the organization
# requires it, and anyone who has set up a device. SMSPORTAL_MFA_ENFORCE=0 (the default only when
# DEBUG=1, so `make run`'s demo signs in with a password) asks only those who have a device.
SMSPORTAL_MFA_ENFORCE = env.bool("SMSPORTAL_MFA_ENFORCE", default=not DEBUG)
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="smsportal")
SMSPORTAL_MFA_RECOVERY_CODES = 10
OTP_ADMIN_HIDE_SENSITIVE_DATA = True  # the admin never shows an authenticator's key

# AUDIT TRAIL (django-auditlog): entries carry their organization (audit.AuditEntry); secrets are
# masked: a change to one records only that it changed (audit.models.mask).
AUDITLOG_LOGENTRY_MODEL = "audit.AuditEntry"
AUDITLOG_STORE_JSON_CHANGES = True
AUDITLOG_MASK_CALLABLE = "audit.models.mask"
# Gateways and routes, plugins, keyword commands, templates, consent programs, API keys, people,
# schedules (and organizations' settings).
AUDITLOG_INCLUDE_TRACKING_MODELS = tuple(
    {"model": model, "exclude_fields": ["created_at", "updated_at", "last_used_at", "key_hash"], **options}
    for model, options in [
        ("entities.Organization", {}),
        ("entities.Patient", {}),
        ("entities.OrganizationUser", {}),
        ("entities.Caregiver", {"m2m_fields": ["patients"]}),
        ("adherence.PatientRoster", {}),  # the admin's patient import/export (a proxy of Patient)
        ("entities.ApiKey", {}),
        ("gateways.Gateway", {"mask_fields": ["secrets"]}),
        ("gateways.InboundNumber", {}),
        ("plugins.PluginRegistration", {"mask_fields": ["webhook_secret"]}),
        ("messaging.KeywordCommand", {}),
        ("messaging.MessageTemplate", {}),  # the texts patients receive
        ("entities.ConsentProgram", {}),  # what people agree to, and its consent text
        ("gateways.GatewayRoute", {}),
        ("adherence.MedicationSchedule", {}),
        # Logins (who made whom a superuser or staff); sign-ins themselves are not changes.
        ("auth.User", {"mask_fields": ["password"], "exclude_fields": ["last_login"]}),
    ]
)

# Largest request body read into memory (a DHIS2 send of SMSPORTAL_MAX_RECIPIENTS numbers fits).
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=4 * 1024 * 1024)

# ADMIN THEME (django-unfold; its CSS/JS are served from our static files, no CDN)
# https://unfoldadmin.com/docs/configuration/settings/
UNFOLD = {
    "SITE_TITLE": "smsportal admin",
    "SITE_HEADER": "smsportal",
    "SITE_SYMBOL": "sms",
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "ENVIRONMENT": "entities.middleware.admin_time_zone_label",  # "Times in <zone>" in the header
    "DASHBOARD_CALLBACK": "smsportal.overview.dashboard_callback",
    "COLORS": {  # the portal's teal brand (Tailwind teal)
        "primary": {
            "50": "oklch(98.4% .014 180.72)",
            "100": "oklch(95.3% .051 180.801)",
            "200": "oklch(91% .096 180.426)",
            "300": "oklch(85.5% .138 181.071)",
            "400": "oklch(77.7% .152 181.912)",
            "500": "oklch(70.4% .14 182.503)",
            "600": "oklch(60% .118 184.704)",
            "700": "oklch(51.1% .096 186.391)",
            "800": "oklch(43.7% .078 188.216)",
            "900": "oklch(38.6% .063 188.416)",
            "950": "oklch(27.7% .046 192.524)",
        },
    },
    "SIDEBAR": {"show_search": True, "show_all_applications": True},
    "SCRIPTS": [lambda request: static("smsportal/admin.js")],  # copy buttons
}

# PHONE NUMBERS
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "E164"
PHONENUMBER_DEFAULT_REGION = env("PHONENUMBER_DEFAULT_REGION", default=None)

# SMS
# Fernet keys, comma-separated; the first encrypts, all decrypt (rotation: docs/operations.md).
SMSPORTAL_ENCRYPTION_KEY = env.list("SMSPORTAL_ENCRYPTION_KEY", default=[])
# Without it, the local server's address on PORT (what `make run PORT=…` serves).
SMSPORTAL_PUBLIC_BASE_URL = env(
    "SMSPORTAL_PUBLIC_BASE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}"
).rstrip("/")
SMSPORTAL_MAX_SEGMENTS = env.int("SMSPORTAL_MAX_SEGMENTS", default=10)
# A message template (reminder, caregiver, HELP …) filled with typical values may need at most this many.
SMSPORTAL_TEMPLATE_MAX_SEGMENTS = env.int("SMSPORTAL_TEMPLATE_MAX_SEGMENTS", default=3)
SMSPORTAL_DHIS2_MAX_SMS_LENGTH = env.int("SMSPORTAL_DHIS2_MAX_SMS_LENGTH", default=1071)
SMSPORTAL_ALLOW_PRIVATE_URLS = env.bool("SMSPORTAL_ALLOW_PRIVATE_URLS", default=False)
SMSPORTAL_HTTP_TIMEOUT = env.float("SMSPORTAL_HTTP_TIMEOUT", default=15.0)
SMSPORTAL_SEND_MAX_ATTEMPTS = env.int("SMSPORTAL_SEND_MAX_ATTEMPTS", default=6)
# Transient failures in a row that mark a gateway down, and for how long (gateways/routing.py).
SMSPORTAL_GATEWAY_DOWN_AFTER = env.int("SMSPORTAL_GATEWAY_DOWN_AFTER", default=5)
SMSPORTAL_GATEWAY_DOWN_SECONDS = env.int("SMSPORTAL_GATEWAY_DOWN_SECONDS", default=60)
SMSPORTAL_SEND_LEASE_SECONDS = env.int("SMSPORTAL_SEND_LEASE_SECONDS", default=300)
SMSPORTAL_QUEUED_TIMEOUT_SECONDS = env.int("SMSPORTAL_QUEUED_TIMEOUT_SECONDS", default=60)
# Pull-mode gateways (a CHT gateway phone polls us): a message offered to the phone and not confirmed
# (a status update) within the lease is offered again; no poll for the down time marks it down.
SMSPORTAL_PULL_LEASE_SECONDS = env.int("SMSPORTAL_PULL_LEASE_SECONDS", default=120)
SMSPORTAL_PULL_DOWN_AFTER_SECONDS = env.int("SMSPORTAL_PULL_DOWN_AFTER_SECONDS", default=600)
# Message validity by source when the sender gives no validUntil (seconds; 0 = none). A dose reminder's
# runs from its dose time (adherence/services.py); the others from when the message is accepted.
SMSPORTAL_VALIDITY_SECONDS = {
    "biot_api": env.int("SMSPORTAL_VALIDITY_API_SECONDS", default=24 * 3600),
    "dhis2_api": env.int("SMSPORTAL_VALIDITY_API_SECONDS", default=24 * 3600),
    "portal": env.int("SMSPORTAL_VALIDITY_PORTAL_SECONDS", default=24 * 3600),
    "schedule": env.int("SMSPORTAL_VALIDITY_REMINDER_SECONDS", default=2 * 3600),
    "system": env.int("SMSPORTAL_VALIDITY_SYSTEM_SECONDS", default=24 * 3600),
}
# An `unknown` message unresolved this long is shown as "may not have been sent" (docs/reliability.md).
SMSPORTAL_UNKNOWN_DEADLINE_SECONDS = env.int("SMSPORTAL_UNKNOWN_DEADLINE_SECONDS", default=6 * 3600)
SMSPORTAL_DISPATCH_BATCH = env.int("SMSPORTAL_DISPATCH_BATCH", default=1000)
SMSPORTAL_DISPATCH_DELAY = env.float("SMSPORTAL_DISPATCH_DELAY", default=0.2)
SMSPORTAL_MAX_RECIPIENTS = env.int("SMSPORTAL_MAX_RECIPIENTS", default=50_000)
# How long a process may reuse an API key, gateway or plugin registration it read (smsportal/localcache.py).
SMSPORTAL_LOCAL_CACHE_SECONDS = env.float("SMSPORTAL_LOCAL_CACHE_SECONDS", default=5.0)
# Inbound and plugins (docs/plugins.md)
SMSPORTAL_INBOUND_ROUTE_TIMEOUT_SECONDS = env.int("SMSPORTAL_INBOUND_ROUTE_TIMEOUT_SECONDS", default=30)
# The routing process (`manage.py route_replies`) counts as gone this long after its last sign of
# life; webhooks then publish Celery routing tasks instead of waking it.
SMSPORTAL_ROUTER_ALIVE_SECONDS = env.int("SMSPORTAL_ROUTER_ALIVE_SECONDS", default=6)
# Plugin calls the routing process makes at once (a slow plugin holds one; with all busy, a chunk
# goes to the Celery workers).
SMSPORTAL_ROUTER_CALL_THREADS = env.int("SMSPORTAL_ROUTER_CALL_THREADS", default=4)
SMSPORTAL_PLUGIN_RETRY_BASE_SECONDS = env.float("SMSPORTAL_PLUGIN_RETRY_BASE_SECONDS", default=5.0)
SMSPORTAL_PLUGIN_RETRY_MAX_SECONDS = env.float("SMSPORTAL_PLUGIN_RETRY_MAX_SECONDS", default=3600.0)
# Replay windows of signed webhooks (docs/security.md): older signed messages are refused.
SMSPORTAL_SNS_MAX_AGE_SECONDS = env.int("SMSPORTAL_SNS_MAX_AGE_SECONDS", default=3600)
SMSPORTAL_WEBHOOK_HMAC_MAX_AGE_SECONDS = env.int("SMSPORTAL_WEBHOOK_HMAC_MAX_AGE_SECONDS", default=300)
SMSPORTAL_PLUGIN_SWEEP_GRACE_SECONDS = env.int("SMSPORTAL_PLUGIN_SWEEP_GRACE_SECONDS", default=60)
# A dose can be confirmed (or reminded from the portal) from this long before its time; an earlier
# "1" is an ordinary conversation message, not a dose taken hours early.
SMSPORTAL_DOSE_EARLY_MINUTES = env.int("SMSPORTAL_DOSE_EARLY_MINUTES", default=60)
SMSPORTAL_SIGNING_KEY_OVERLAP_SECONDS = env.int("SMSPORTAL_SIGNING_KEY_OVERLAP_SECONDS", default=86400)
SMSPORTAL_JWT_ISSUER = env("SMSPORTAL_JWT_ISSUER", default="")
# Phone-number HMAC key for logs (numbers are enumerable, so a plain hash would be reversible).
SMSPORTAL_LOG_HASH_KEY = env("SMSPORTAL_LOG_HASH_KEY", default=SECRET_KEY)

# LOGGING: structured JSON lines; no phone numbers, bodies or secrets (smsportal/logging.py).
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "smsportal.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # The development server's request lines (`make run`) as JSON lines too, redacted, no query.
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}
