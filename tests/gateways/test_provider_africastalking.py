"""Africa's Talking against the stand-in and its documented answers: one request per text with the
numbers comma-separated, per-recipient status codes (accepted, refused, worth retrying), sandbox
and live base URLs, and a delivery report through the live server."""

import pytest

from gateways.providers import ADAPTERS
from gateways.providers.africastalking import LIVE_URL, SANDBOX_URL
from gateways.providers.base import OutboundSms
from gateways.webhook_url import gateway_webhook_url
from messaging.models import OutboundMessage
from messaging.services.outbound import messages_queue
from tests.factories import GatewayFactory
from tests.gateways.conftest import build_gateway
from tests.gateways.replay import Answer, ReplayServer, payload
from tests.polling import wait_until


def _adapter(url: str, **config):
    return ADAPTERS["africastalking"](
        build_gateway(
            "africastalking", config={"urlTemplate": url, "username": "sandbox", **config}, secrets={"apiKey": "k"}
        )
    )


def _sms(n: int, text="Clinic at 9") -> OutboundSms:
    return OutboundSms(reference=f"00000000-0000-0000-0000-{n:012d}", to=f"+25471100{n:04d}", text=text)


def test_one_text_to_many_goes_in_one_request_and_each_gets_its_id(sim):
    messages = [_sms(1), _sms(2), _sms(3), _sms(4, text="Other text")]

    results = _adapter(sim.url).send_batch(messages)

    assert [r.reference for r in results] == [m.reference for m in messages]
    assert all(r.accepted and r.provider_message_id in sim.messages for r in results)
    first, second = sim.requests_for("africastalking")
    assert first.form()["to"] == ["+254711000001,+254711000002,+254711000003"]
    assert second.form()["message"] == ["Other text"]


@pytest.mark.parametrize(
    ("code", "temporary"),
    [("403", False), ("405", False), ("406", False), ("502", False), ("500", True), ("501", True)],
)
def test_per_recipient_refusals_fail_and_gateway_errors_are_retried(sim, code, temporary):
    sim.behave(provider="africastalking", error_code=code, times=1)

    [result] = _adapter(sim.url).send_batch([_sms(1)])

    assert not result.accepted and result.temporary is temporary and result.error.startswith(code)
    assert result.provider_message_id == ""  # AT says "None"
    assert sim.received("africastalking") == {}


def test_documented_invalid_number_answer_is_a_refusal(settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    with ReplayServer() as server:
        server.answer = Answer(201, payload("africastalking/send_response_invalid_number.json"))

        [result] = _adapter(server.url).send_batch([OutboundSms("r", "+254711000123", "Hi")])

    assert not result.accepted and not result.temporary and result.error == "403 InvalidPhoneNumber"


def test_sandbox_and_live_base_urls():
    sandbox = ADAPTERS["africastalking"](build_gateway("africastalking", config={"sandbox": True}))
    live = ADAPTERS["africastalking"](build_gateway("africastalking", config={}))

    assert (sandbox.base_url, live.base_url) == (SANDBOX_URL, LIVE_URL)
    assert SANDBOX_URL == "https://api.sandbox.africastalking.com" and LIVE_URL == "https://api.africastalking.com"


@pytest.mark.django_db(transaction=True)
def test_message_is_delivered_by_its_report(organization, sim, live_server):
    gateway = GatewayFactory(
        organization=organization,
        type="africastalking",
        config={"urlTemplate": sim.url, "username": "sandbox"},
        secrets={"apiKey": "k"},
    )
    gateway.ensure_webhook_token()
    gateway.save()
    sim.status_urls["africastalking"] = gateway_webhook_url(gateway=gateway, kind="status", base_url=live_server.url)
    sim.auto_report = "delivered"

    message = messages_queue(
        organization=organization, recipients=["+254711000123"], body="Clinic at 9", source="portal"
    ).messages[0]

    delivered = wait_until(
        lambda: OutboundMessage.objects.filter(pk=message.pk, status="delivered").first(), 30, "delivered"
    )
    assert delivered.provider_message_id.startswith("ATXid_")
