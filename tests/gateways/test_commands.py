"""Key rotation and webhook-token rotation commands."""

import io

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.db import connection

from gateways.models import Gateway
from tests.factories import GatewayFactory

pytestmark = pytest.mark.django_db


def _raw_secrets(gateway):
    with connection.cursor() as cursor:
        cursor.execute("SELECT secrets FROM gateways_gateway")
        return [row[0] for row in cursor.fetchall()]


def test_rotate_encryption_keys_reencrypts_under_the_new_key(settings, organization):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.SMSPORTAL_ENCRYPTION_KEY = [old]
    gateway = GatewayFactory(organization=organization, secrets={"authToken": "tok"})
    [before] = _raw_secrets(gateway)

    settings.SMSPORTAL_ENCRYPTION_KEY = [new, old]
    call_command("rotate_encryption_keys", stdout=io.StringIO())
    [after] = _raw_secrets(gateway)

    assert Fernet(new.encode()).decrypt(after.encode())
    settings.SMSPORTAL_ENCRYPTION_KEY = [new]  # the old key can now be removed
    assert Gateway.objects.get(pk=gateway.pk).secrets["authToken"] == "tok"
    assert before != after


def test_rotate_webhook_token_command(organization):
    gateway = GatewayFactory(organization=organization, type="bulksms", secrets={"webhookTokens": ["t1"]})
    out = io.StringIO()

    call_command("rotate_webhook_token", str(gateway.pk), stdout=out)
    gateway.refresh_from_db()
    new = gateway.webhook_tokens()[0]

    assert gateway.webhook_tokens() == [new, "t1"]
    assert f"token={new}" in out.getvalue()
    call_command("rotate_webhook_token", str(gateway.pk), "--retire", stdout=io.StringIO())
    gateway.refresh_from_db()
    assert gateway.webhook_tokens() == [new]


def test_deploy_check_refuses_test_only_trust_settings(settings):
    from gateways.checks import adapters_cover_gateway_types, no_test_trust_in_production

    settings.SMSPORTAL_SNS_TEST_CERTIFICATE = "-----BEGIN CERTIFICATE-----"
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True

    assert {e.id for e in no_test_trust_in_production(None)} == {"gateways.E002", "gateways.E003"}
    assert adapters_cover_gateway_types(None) == []
