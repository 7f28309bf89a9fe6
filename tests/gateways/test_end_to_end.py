"""End to end per provider: send → simulator → delivery report over HTTP → message delivered."""

import pytest

from gateways.services import gateway_webhook_url
from messaging.models import OutboundMessage
from messaging.services.outbound import messages_queue
from tests.factories import GatewayFactory
from tests.polling import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _gateway(organization, type_, config, secrets):
    gateway = GatewayFactory(organization=organization, type=type_, config=config, secrets=secrets)
    gateway.ensure_webhook_token()
    gateway.save()
    return gateway


def test_bulksms_message_is_delivered(organization, sim, live_server):
    gateway = _gateway(
        organization,
        "bulksms",
        {"urlTemplate": f"{sim.url}/v1/messages", "username": "id"},
        {"password": "secret"},
    )
    sim.status_urls["bulksms"] = gateway_webhook_url(gateway=gateway, kind="status", base_url=live_server.url)
    sim.auto_report = "delivered"

    message = messages_queue(
        organization=organization, recipients=["+12025550101"], body="Take your pill", source="portal"
    ).messages[0]

    delivered = wait_until(
        lambda: OutboundMessage.objects.filter(pk=message.pk, status="delivered").first(),
        60,
        "the delivery report applied",
    )
    assert delivered.provider_message_id in sim.messages
    assert delivered.delivered_at is not None


def test_generic_http_message_is_delivered(organization, sim, live_server):
    gateway = _gateway(
        organization,
        "http",
        {
            "urlTemplate": f"{sim.url}/generic/send",
            "contentType": "APPLICATION_JSON",
            "configurationTemplate": '{"id": "${id}", "to": "${recipients}", "text": "${text}"}',
            "responseIdField": "id",
        },
        {},
    )
    sim.status_urls["generic"] = gateway_webhook_url(gateway=gateway, kind="status", base_url=live_server.url)
    sim.auto_report = "delivered"

    message = messages_queue(
        organization=organization, recipients=["+12025550101"], body="Take your pill", source="portal"
    ).messages[0]

    wait_until(
        lambda: OutboundMessage.objects.filter(pk=message.pk, status="delivered").exists(),
        60,
        "the delivery report applied",
    )


def test_clickatell_message_is_delivered(organization, sim, live_server):
    gateway = _gateway(organization, "clickatell", {"urlTemplate": f"{sim.url}/messages"}, {"authToken": "key"})
    sim.status_urls["clickatell"] = gateway_webhook_url(gateway=gateway, kind="status", base_url=live_server.url)
    sim.auto_report = "delivered"

    message = messages_queue(
        organization=organization, recipients=["+12025550101"], body="Take your pill", source="portal"
    ).messages[0]

    wait_until(
        lambda: OutboundMessage.objects.filter(pk=message.pk, status="delivered").exists(),
        60,
        "the delivery report applied",
    )


def test_twilio_message_is_delivered_via_the_signed_status_callback(organization, sim, live_server, settings):
    settings.SMSPORTAL_PUBLIC_BASE_URL = live_server.url
    _gateway(
        organization,
        "twilio",
        {"urlTemplate": sim.url, "accountSid": "AC" + "1" * 32, "from": "+12025550100"},
        {"authToken": "twilio-token"},
    )
    sim.auto_report = "delivered"

    message = messages_queue(
        organization=organization, recipients=["+12025550101"], body="Take your pill", source="portal"
    ).messages[0]

    delivered = wait_until(
        lambda: OutboundMessage.objects.filter(pk=message.pk, status="delivered").first(),
        60,
        "the delivery report applied",
    )
    assert delivered.provider_message_id.startswith("SM")
    wait_until(lambda: sim.reports_posted == 1, 60, "one delivery report posted")


def test_twilio_undelivered_report_records_the_error_code(organization, sim, live_server, settings):
    settings.SMSPORTAL_PUBLIC_BASE_URL = live_server.url
    _gateway(
        organization,
        "twilio",
        {"urlTemplate": sim.url, "accountSid": "AC" + "1" * 32, "from": "+12025550100"},
        {"authToken": "twilio-token"},
    )
    message = messages_queue(
        organization=organization, recipients=["+12025550101"], body="Take your pill", source="portal"
    ).messages[0]
    message.refresh_from_db()

    assert sim.deliver(message.provider_message_id, "undelivered", error_code="30003") == 200

    message.refresh_from_db()
    assert (message.status, message.provider_error_code) == ("undelivered", "30003")
    assert message.undelivered_at is not None and message.failed_at is None


def test_aws_end_user_messaging_message_is_delivered_via_a_signed_sns_event(organization, sim, live_server, settings):
    settings.SMSPORTAL_SNS_TEST_CERTIFICATE = sim.sns_signer.certificate_pem
    gateway = _gateway(
        organization,
        "sns",
        {
            "service": "pinpoint-sms-voice-v2",
            "region": "us-east-1",
            "endpointUrl": sim.url,
            "accessKeyId": "testing",
            "topicArns": [sim.sns_topic_arn],
        },
        {"secretAccessKey": "testing"},
    )
    sim.status_urls["aws"] = gateway_webhook_url(gateway=gateway, kind="status", base_url=live_server.url)
    sim.auto_report = "delivered"

    message = messages_queue(
        organization=organization, recipients=["+12025550101"], body="Take your pill", source="portal"
    ).messages[0]

    wait_until(
        lambda: OutboundMessage.objects.filter(pk=message.pk, status="delivered").exists(),
        60,
        "the delivery report applied",
    )


# -- replies: simulator → our inbound webhook (each provider's format, signed where it signs) ------


@pytest.mark.parametrize("provider", ["clickatell", "bulksms", "generic", "twilio", "aws"])
def test_reply_in_each_providers_format_is_stored_once(organization, sim, live_server, settings, provider):
    from messaging.models import InboundMessage

    settings.SMSPORTAL_PUBLIC_BASE_URL = live_server.url
    settings.SMSPORTAL_SNS_TEST_CERTIFICATE = sim.sns_signer.certificate_pem
    type_, config, secrets = {
        "clickatell": ("clickatell", {}, {"authToken": "k"}),
        "bulksms": ("bulksms", {"username": "u"}, {"password": "p"}),
        "generic": ("http", {"urlTemplate": "http://127.0.0.1/"}, {}),
        "twilio": ("twilio", {"accountSid": "AC1", "from": "+12025550100"}, {"authToken": "twilio-token"}),
        "aws": ("sns", {"region": "us-east-1", "topicArns": [sim.sns_topic_arn]}, {}),
    }[provider]
    gateway = _gateway(organization, type_, config, secrets)
    url = gateway_webhook_url(gateway=gateway, kind="inbound", base_url=live_server.url)

    def reply(**kwargs):
        kwargs = {"auth_token": "twilio-token", "reply_id": "reply-1", **kwargs}
        return sim.reply(provider, url, sender="+12025550101", recipient="+12025550100", text="1", **kwargs)

    first, retried = reply(), reply()  # the provider retries the same webhook

    assert first.status_code == 200 and retried.status_code == 200
    if provider == "twilio":
        assert first.headers["Content-Type"].startswith("text/xml") and "<Response/>" in first.text
        assert reply(auth_token="wrong", reply_id="reply-2").status_code == 403
    message = InboundMessage.objects.get(gateway=gateway)
    assert (message.originator, message.text) == ("+12025550101", "1")
