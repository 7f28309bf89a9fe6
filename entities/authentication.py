"""`Authorization: Bearer <api key>` for organization-scoped API clients."""

import hmac

from django.utils import timezone
from rest_framework import authentication, exceptions

from audit.context import audit_actor_set
from entities.models import ApiKey
from smsportal.localcache import LocalCache

# Every API call authenticates: a process reuses a key it has looked up for a few seconds
# (SMSPORTAL_LOCAL_CACHE_SECONDS), so a revocation reaches other processes within that time.
_live_keys = LocalCache("api-keys")


class ApiKeyPrincipal:
    """The request.user of an API-key call: acts for exactly one organization."""

    is_authenticated = True
    is_superuser = False
    is_staff = False
    is_active = True

    def __init__(self, api_key: ApiKey):
        self.api_key = api_key
        self.organization = api_key.organization
        self.pk = None
        self.username = f"api-key:{api_key.prefix}"

    def __str__(self) -> str:
        return self.username


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Authorization: expected 'Bearer <api key>'")
        raw = header[1].decode(errors="replace")
        api_key = api_key_authenticate(raw)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Authorization: invalid or revoked API key")
        audit_actor_set(api_key_prefix=api_key.prefix)
        return ApiKeyPrincipal(api_key), api_key

    def authenticate_header(self, request):
        return self.keyword


class AuditedBasicAuthentication(authentication.BasicAuthentication):
    """HTTP Basic (DHIS2 clients) whose changes the audit trail attributes to the user."""

    def authenticate_credentials(self, userid, password, request=None):
        user, auth = super().authenticate_credentials(userid, password, request)
        audit_actor_set(user=user)
        return user, auth


def api_key_authenticate(raw: str) -> ApiKey | None:
    """The live ApiKey for a raw key, or None. Prefix lookup, then a hash compare."""
    parts = raw.split("_", 2)  # the secret part is urlsafe base64 and may itself contain "_"
    if len(parts) != 3 or parts[0] != "sp":
        return None
    digest = ApiKey.hash(raw)
    api_key = _live_keys.get_or_load(digest, lambda: _live_key(prefix=parts[1], digest=digest))
    if api_key is None:
        return None
    now = timezone.now()
    # Throttle the last-used write so the hot send path is not an UPDATE per request.
    if api_key.last_used_at is None or (now - api_key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def _live_key(*, prefix: str, digest: str) -> ApiKey | None:
    api_key = ApiKey.objects.select_related("organization").filter(prefix=prefix, revoked_at=None).first()
    if api_key is None or not hmac.compare_digest(api_key.key_hash, digest):
        return None
    return api_key
