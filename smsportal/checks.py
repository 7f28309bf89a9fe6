"""System checks for deploy-time configuration (`manage.py check --deploy` runs the deploy ones)."""

from django.conf import settings
from django.core.checks import Error, Tags, register


@register(Tags.security, deploy=True)
def encryption_key_set(app_configs, **kwargs):
    """Production must encrypt gateway credentials with its own key, not one derived from SECRET_KEY."""
    if settings.SMSPORTAL_ENCRYPTION_KEY:
        return []
    return [
        Error(
            "SMSPORTAL_ENCRYPTION_KEY is not set: secrets at rest are encrypted with a key derived from SECRET_KEY.",
            hint="Generate one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key()"
            ".decode())' and set SMSPORTAL_ENCRYPTION_KEY (comma-separate several to rotate).",
            id="smsportal.E001",
        )
    ]


@register(Tags.security)
def encryption_keys_valid(app_configs, **kwargs):
    """Every configured key must be a Fernet key, or nothing could be decrypted."""
    from cryptography.fernet import Fernet

    errors = []
    for index, key in enumerate(settings.SMSPORTAL_ENCRYPTION_KEY):
        try:
            Fernet(key.encode() if isinstance(key, str) else key)
        except (ValueError, TypeError):
            errors.append(
                Error(
                    f"SMSPORTAL_ENCRYPTION_KEY entry {index + 1} is not a valid Fernet key (32 url-safe base64 bytes).",
                    id="smsportal.E002",
                )
            )
    return errors


@register(Tags.security, deploy=True)
def broker_configured(app_configs, **kwargs):
    """Production runs a real broker: eager tasks would send SMS inside web requests."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return [
            Error(
                "Celery runs tasks eagerly (no CELERY_BROKER_URL / REDIS_URL): sends happen inside web requests.",
                hint="Set REDIS_URL (or CELERY_BROKER_URL); `make prod` runs the worker and beat (docs/deploy.md).",
                id="smsportal.E003",
            )
        ]
    return []


@register(deploy=True)
def production_database(app_configs, **kwargs):
    """SQLite serves the embedded mode (one process); several web and worker processes need
    PostgreSQL's row locks (SKIP LOCKED claims) and concurrent writers."""
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        return [
            Error(
                "The database is SQLite (no DATABASE_URL): production runs web and worker processes side by side.",
                hint="Set DATABASE_URL=postgres://user:password@host:5432/smsportal (PostgreSQL 13+).",
                id="smsportal.E004",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def not_a_development_install(app_configs, **kwargs):
    """Django only warns about these (security.W018, W009); here they stop `make prod`: debug pages
    show settings and data, and a published key lets anyone sign sessions."""
    errors = []
    if settings.DEBUG:
        errors.append(Error("DEBUG is on.", hint="Unset DEBUG (or DEBUG=0) in production.", id="smsportal.E005"))
    if settings.SECRET_KEY == settings.DEVELOPMENT_SECRET_KEY:
        errors.append(
            Error(
                "SECRET_KEY is the development default, published in this repository.",
                hint="Set SECRET_KEY to a long random value, e.g. python -c 'import secrets; "
                "print(secrets.token_urlsafe(50))'.",
                id="smsportal.E006",
            )
        )
    return errors
