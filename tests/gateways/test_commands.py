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
    from gateways.checks import no_test_trust_in_production

    settings.SMSPORTAL_SNS_TEST_CERTIFICATE = "-----BEGIN CERTIFICATE-----"
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True

    assert {e.id for e in no_test_trust_in_production(None)} == {"gateways.E002", "gateways.E003"}


def test_provider_simulator_help_names_every_provider_and_shows_defaults():
    from gateways.management.commands.provider_simulator import Command

    text = " ".join(Command().create_parser("manage.py", "provider_simulator").format_help().split())

    assert "AWS End User Messaging" in text
    assert "Address to listen on (default: 127.0.0.1)" in text and "Port to listen on (default: 8025)" in text


def test_provider_simulator_refuses_a_malformed_status_url():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="PROVIDER=URL"):
        call_command("provider_simulator", "--status-url", "clickatel=http://127.0.0.1:1/x", "--port", "0")


def test_auto_report_without_a_status_url_logs_how_to_give_one(provider_simulator, caplog):
    from gateways.simulator import SentMessage
    from tests.polling import wait_until

    provider_simulator.auto_report = "delivered"
    provider_simulator.accept(SentMessage("clickatell", "sim-1", "+12025550101", "hi"))

    record = wait_until(
        lambda: next((r for r in caplog.records if "could not post a delivery report" in r.getMessage()), None),
        10,
        "the simulator's log line about the report it could not post",
    )
    assert "--status-url clickatell=" in record.getMessage() and record.exc_info is None
