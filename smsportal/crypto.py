"""Encryption at rest for secrets (gateway credentials, signing keys).

MultiFernet from `cryptography`: keys come from SMSPORTAL_ENCRYPTION_KEY (comma-separated,
first one encrypts); rotation = prepend a new key, run `manage.py rotate_encryption_keys`,
then drop the old key.
"""

import base64
import hashlib
import json
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@lru_cache(maxsize=4)
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    if not keys:
        # Development fallback derived from SECRET_KEY; `check --deploy` flags it (smsportal/checks.py).
        derived = base64.urlsafe_b64encode(hashlib.sha256(settings.SECRET_KEY.encode()).digest())
        return MultiFernet([Fernet(derived)])
    return MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.SMSPORTAL_ENCRYPTION_KEY))


def encrypt(plaintext: str) -> str:
    return fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured("stored secret cannot be decrypted with SMSPORTAL_ENCRYPTION_KEY") from exc


def rotate(token: str) -> str:
    return fernet().rotate(token.encode()).decode()


class EncryptedJSONField(models.TextField):
    """A JSON object stored as Fernet ciphertext; Python sees a plain dict."""

    description = "Encrypted JSON object"

    def from_db_value(self, value, expression, connection):
        if value in (None, ""):
            return {}
        return json.loads(decrypt(value))

    def to_python(self, value):
        if isinstance(value, dict):
            return value
        if value in (None, ""):
            return {}
        return json.loads(decrypt(value))

    def get_prep_value(self, value):
        return encrypt(json.dumps(value or {}, sort_keys=True))


class EncryptedTextField(models.TextField):
    """A string stored as Fernet ciphertext."""

    def from_db_value(self, value, expression, connection):
        return decrypt(value) if value else ""

    def to_python(self, value):
        return value or ""

    def get_prep_value(self, value):
        return encrypt(value) if value else ""
