"""Production settings: `manage.py check --deploy` (the first step of `make prod`) passes with the
production variables set, and fails without an encryption key, a broker, PostgreSQL, a secret key of its
own, or with DEBUG on."""

import os
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def _check_deploy(**overrides) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSPORTAL_", "SECURE_", "DJANGO_"))}
    env.update(
        {
            "DEBUG": "0",
            "SECRET_KEY": "k3y-" + Fernet.generate_key().decode() + Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "sms.example.org",
            "SECURE_SSL_REDIRECT": "1",
            "SECURE_HSTS_SECONDS": "31536000",
            "SECURE_COOKIES": "1",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "SMSPORTAL_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "DATABASE_URL": "postgres://smsportal@db.example.org:5432/smsportal",  # never connected to
        }
    )
    env.update(overrides)
    env = {k: v for k, v in env.items() if v is not None}
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_check_deploy_passes_with_the_production_variables():
    result = _check_deploy()

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Django's deploy warnings (HSTS, SSL redirect, cookies, SECRET_KEY) are all satisfied too.
    assert "security.W" not in output, output


def test_check_deploy_fails_without_an_encryption_key():
    result = _check_deploy(SMSPORTAL_ENCRYPTION_KEY=None)

    assert result.returncode != 0
    assert "smsportal.E001" in result.stderr + result.stdout


def test_check_deploy_refuses_the_development_secret_key():
    result = _check_deploy(SECRET_KEY=None)

    assert result.returncode != 0
    assert "smsportal.E006" in result.stderr + result.stdout and "security.W009" in result.stderr + result.stdout


def test_check_deploy_refuses_debug():
    result = _check_deploy(DEBUG="1")

    assert result.returncode != 0 and "smsportal.E005" in result.stderr + result.stdout


def test_an_invalid_encryption_key_is_an_error():
    result = _check_deploy(SMSPORTAL_ENCRYPTION_KEY="not-a-key")

    assert result.returncode != 0 and "smsportal.E002" in result.stderr + result.stdout


def test_check_deploy_refuses_sqlite():
    result = _check_deploy(DATABASE_URL="sqlite:////tmp/smsportal-check-deploy.sqlite3")

    assert result.returncode != 0 and "smsportal.E004" in result.stderr + result.stdout


def test_check_deploy_refuses_the_embedded_eager_mode():
    result = _check_deploy(REDIS_URL=None)

    assert result.returncode != 0 and "smsportal.E003" in result.stderr + result.stdout
