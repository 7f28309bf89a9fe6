"""The plugin sweep's grace follows its setting; phone numbers with letters are refused."""

from datetime import timedelta

import pytest
from django.utils import timezone

from messaging.phones import InvalidPhoneNumber, to_e164
from plugins.models import PluginInvocation
from plugins.registrations import registration_create
from plugins.tasks import plugins_sweep_task


@pytest.mark.parametrize("grace, expected_reset", [(30, 1), (600, 0)])
def test_the_sweep_recovers_a_dead_workers_invocation_after_the_configured_grace(
    organization, settings, monkeypatch, grace, expected_reset
):
    settings.SMSPORTAL_PLUGIN_SWEEP_GRACE_SECONDS = grace
    monkeypatch.setattr("plugins.tasks.plugin_invocation_run_task.delay", lambda *a: None)
    registration, _ = registration_create(
        organization=organization,
        name="p",
        url="https://plugin.example.org/hook",
        entity_types=["patient"],
        actions=["_incomingSms"],
    )
    claimed = timezone.now() - timedelta(seconds=90)  # a worker died 90 s ago mid-call
    PluginInvocation.objects.create(
        organization=organization,
        registration=registration,
        action="_incomingSms",
        event_key="_incomingSms:x",
        status=PluginInvocation.Status.RUNNING,
        claimed_at=claimed,
    )

    assert plugins_sweep_task()["reset"] == expected_reset


@pytest.mark.parametrize("raw", ["+1202555ABCD", "+1-800-FLOWERS", "+47 9123 456a"])
def test_phone_numbers_with_letters_are_refused(raw):
    with pytest.raises(InvalidPhoneNumber, match="letters"):
        to_e164(raw)


def test_a_number_with_letters_is_refused_by_the_send_api_naming_the_field(api_client, gateway):
    response = api_client.post(
        "/notification/v1/sms/send", {"message": "hi", "phoneNumber": "+1202555ABCD"}, format="json"
    )
    assert response.status_code == 400, response.content
    assert response.json()["field"] == "phoneNumber"
    assert "letters" in response.json()["error"]
