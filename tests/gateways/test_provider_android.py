"""SMS Gateway for Android against the stand-in over HTTP: webhook registration (command and admin
action), send → signed delivery event → delivered, a reply stored once, our id deduplicated by the
phone, local mode, and the message's deadline as `ttl`."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from gateways.config import config_validate
from gateways.exceptions import ConfigError
from gateways.providers import ADAPTERS
from gateways.providers.base import OutboundSms
from gateways.simulator.providers.android import SIGNING_KEY
from gateways.webhook_url import gateway_webhook_url
from messaging.models import InboundMessage, OutboundMessage
from messaging.services.outbound import messages_queue
from tests.factories import GatewayFactory
from tests.gateways.conftest import build_gateway
from tests.polling import wait_until

PATIENT = "+12025550111"


def _gateway(organization, sim, **config):
    gateway = GatewayFactory(
        organization=organization,
        type="android",
        config={"mode": "private", "urlTemplate": sim.url, "username": "sms", "country": "US", **config},
        secrets={"password": "p", "signingKey": SIGNING_KEY},
    )
    gateway.ensure_webhook_token()
    gateway.save()
    return gateway


@pytest.mark.django_db(transaction=True)
def test_registered_webhooks_bring_the_delivery_report_and_the_reply(organization, sim, live_server, settings):
    settings.SMSPORTAL_PUBLIC_BASE_URL = live_server.url
    gateway = _gateway(organization, sim)

    call_command("register_webhooks", str(gateway.pk))

    inbound, status = (gateway_webhook_url(gateway=gateway, kind=k) for k in ("inbound", "status"))
    assert sim.webhooks["android"] == {
        "sms:received": inbound,
        "sms:sent": status,
        "sms:delivered": status,
        "sms:failed": status,
    }
    assert "token=" not in status  # signed events: no secret in the URL
    sim.auto_report = "delivered"

    message = messages_queue(organization=organization, recipients=[PATIENT], body="Take it", source="portal").messages[
        0
    ]

    delivered = wait_until(
        lambda: OutboundMessage.objects.filter(pk=message.pk, status="delivered").first(), 30, "delivered"
    )
    assert delivered.provider_message_id == str(message.pk)  # the phone keeps our id
    for _ in range(2):  # the app retries a webhook with the same event id
        assert (
            sim.reply("android", "", sender="2025550111", recipient="", text="1", reply_id="evt-1").status_code == 200
        )
    [reply] = InboundMessage.objects.all()
    assert (reply.originator, reply.text) == (PATIENT, "1")


@pytest.mark.django_db
def test_admin_action_registers_the_webhooks(client, organization, sim):
    gateway = _gateway(organization, sim)
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))

    response = client.post(
        "/admin/gateways/gateway/", {"action": "register_webhooks", "_selected_action": [gateway.pk]}, follow=True
    )

    assert b"4 webhooks registered" in response.content
    assert set(sim.webhooks["android"]) == {"sms:received", "sms:sent", "sms:delivered", "sms:failed"}


@pytest.mark.django_db
def test_registering_a_provider_without_that_api_or_a_refusing_phone_is_an_error(organization, sim):
    twilio = GatewayFactory(organization=organization, type="twilio", is_default=False)
    android = _gateway(organization, sim, username="")

    with pytest.raises(CommandError, match="provider's console"):
        call_command("register_webhooks", str(twilio.pk))
    with pytest.raises(CommandError, match="HTTP 401"):
        call_command("register_webhooks", str(android.pk))
    with pytest.raises(CommandError, match="no gateway"):
        call_command("register_webhooks", "not-a-uuid")


def test_a_resend_after_a_lost_answer_is_not_sent_twice(sim, settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    adapter = ADAPTERS["android"](
        build_gateway(
            "android", config={"mode": "private", "urlTemplate": sim.url, "username": "u"}, secrets={"password": "p"}
        )
    )
    message = OutboundSms(reference="22222222-2222-2222-2222-222222222222", to=PATIENT, text="Take it")

    first, again = adapter.send_batch([message]), adapter.send_batch([message])

    assert first[0].accepted and again[0].accepted  # 409 "already exists": the phone has it
    assert sim.received("android") == {PATIENT: 1}


def test_local_mode_sends_to_the_phones_own_server(sim, settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    gateway = build_gateway(
        "android",
        config={"mode": "local", "urlTemplate": sim.url, "username": "u", "legacyMessageField": True},
        secrets={"password": "p"},
    )

    [result] = ADAPTERS["android"](gateway).send_batch(
        [OutboundSms("33333333-3333-3333-3333-333333333333", PATIENT, "Hi")]
    )

    [recorded] = sim.requests_for("android")
    assert result.accepted and recorded.path == "/message"
    assert recorded.json()["message"] == "Hi" and "textMessage" not in recorded.json()


def test_a_message_deadline_becomes_the_phones_ttl():
    adapter = ADAPTERS["android"](build_gateway("android", config={"username": "u"}))
    now = datetime(2026, 1, 1, 8, 0, tzinfo=UTC)

    body = adapter.body(OutboundSms("r", PATIENT, "Hi", valid_until=now + timedelta(hours=2)), now=now)
    late = adapter.body(OutboundSms("r", PATIENT, "Hi", valid_until=now - timedelta(seconds=1)), now=now)

    assert body["ttl"] == 7200 and late["ttl"] == 5  # the API's minimum
    assert "ttl" not in adapter.body(OutboundSms("r", PATIENT, "Hi"), now=now)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"mode": "local"}, "urlTemplate"),
        ({"mode": "bluetooth"}, "mode"),
        ({"simNumber": 4}, "simNumber"),
        ({"country": "Kenya"}, "country"),
    ],
)
def test_configuration_mistakes_name_the_field(config, field):
    data = {"username": "u", "password": "p", "signingKey": "k", **config}

    with pytest.raises(ConfigError) as exc:
        config_validate(type_="android", data=data, resolve=False)

    assert exc.value.field == field
