"""RS512 JWTs on plugin calls, the keys that sign them and the JWKS that publishes them.

Plugins hold only our public keys (GET /.well-known/jwks.json), so a leaked plugin config cannot
forge our calls. Tokens are short-lived (exp ≤ 5 min), bound to one registration (`aud`) and to
the request body (`body_sha256`).
"""

import hashlib
import json
import time
import uuid
from datetime import timedelta

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from jwt.algorithms import RSAAlgorithm

from plugins.models import SigningKey
from smsportal.localcache import LocalCache, local_caches_clear

ALGORITHM = "RS512"
TOKEN_LIFETIME_SECONDS = 300  # exp − iat, as docs/plugins.md promises plugin authors
SCOPE = "ACTION_NOTIFICATION"

_private_cache: dict[str, object] = {}


def canonical_json(data) -> bytes:
    """The bytes `body_sha256` covers: sorted keys, no whitespace, UTF-8 (docs/plugins.md)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def body_sha256(payload_without_jwt: dict) -> str:
    return hashlib.sha256(canonical_json(payload_without_jwt)).hexdigest()


def issuer() -> str:
    return getattr(settings, "SMSPORTAL_JWT_ISSUER", "") or settings.SMSPORTAL_PUBLIC_BASE_URL


def signing_key_create() -> SigningKey:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    kid = uuid.uuid4().hex
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "alg": ALGORITHM, "use": "sig"})
    return SigningKey.objects.create(kid=kid, private_key_pem=pem, public_jwk=jwk)


def signing_key_current() -> SigningKey:
    """The key that signs now (read each time, so a rotation applies at once); made on first use."""
    key = SigningKey.objects.filter(expires_at__isnull=True).order_by("-created_at").first()
    if key is None:
        with transaction.atomic():
            key = SigningKey.objects.filter(expires_at__isnull=True).order_by("-created_at").first()
            key = key or signing_key_create()
    return key


@transaction.atomic
def signing_key_rotate(*, overlap: timedelta | None = None) -> SigningKey:
    """Add a new signing key; older live keys stay published until `overlap` has passed."""
    overlap = overlap or timedelta(seconds=settings.SMSPORTAL_SIGNING_KEY_OVERLAP_SECONDS)
    new = signing_key_create()
    SigningKey.objects.filter(expires_at__isnull=True).exclude(pk=new.pk).update(expires_at=timezone.now() + overlap)
    # The cached current key (`_signing_key_for_call`): dropped now for this connection's view,
    # and again on commit so a load that read the old key meanwhile is not kept.
    local_caches_clear()
    transaction.on_commit(local_caches_clear)
    return new


def jwks() -> dict:
    """The public keys that verify tokens we issued and that are not yet expired."""
    signing_key_current()
    live = SigningKey.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=timezone.now()))
    return {"keys": [k.public_jwk for k in live.order_by("-created_at")]}


def _private_key(key: SigningKey):
    cached = _private_cache.get(key.kid)
    if cached is None:
        cached = serialization.load_pem_private_key(key.private_key_pem.encode(), password=None)
        _private_cache[key.kid] = cached
    return cached


_current_key = LocalCache("plugin-signing-key", maxsize=1)


def _signing_key_for_call() -> SigningKey:
    """The current key, as signing_key_current(), kept per process for SMSPORTAL_LOCAL_CACHE_SECONDS
    (its query was a tenth of a plugin call's CPU). A rotation applies at once in the process that
    rotates and within that time elsewhere; tokens signed meanwhile with the previous key still
    verify, since a rotated-out key stays published (SMSPORTAL_SIGNING_KEY_OVERLAP_SECONDS)."""
    return _current_key.get_or_load("current", signing_key_current)


def plugin_token(*, registration, organization_id, payload_without_jwt: dict, jti: str) -> str:
    """The `jwt` field of a plugin call."""
    key = _signing_key_for_call()
    now = int(time.time())
    claims = {
        "iss": issuer(),
        "aud": str(registration.id),
        "sub": str(organization_id),
        "iat": now,
        "nbf": now,
        "exp": now + TOKEN_LIFETIME_SECONDS,
        "jti": jti,
        "scopes": [SCOPE],
        "body_sha256": body_sha256(payload_without_jwt),
    }
    return jwt.encode(claims, _private_key(key), algorithm=ALGORITHM, headers={"kid": key.kid, "typ": "JWT"})
