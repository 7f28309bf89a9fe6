"""Provider webhook views: authenticity (403, nothing stored), unknown gateway (404), unknown ids (200)."""

import logging
import uuid
from urllib.parse import urlencode

import pytest

from gateways.models import Gateway
from gateways.providers import ADAPTERS
from gateways.simulator import twilio_signature
from messaging.models import InboundMessage, OutboundMessage
from tests.factories import GatewayFactory

pytestmark = pytest.mark.django_db


def test_every_provider_module_registers_its_adapter_as_a_gateway_type():
    assert {"simulator", "clickatell", "bulksms", "http", "twilio", "sns"} <= set(ADAPTERS)
    assert [v for v, _ in Gateway._meta.get_field("type").choices] == list(ADAPTERS)


@pytest.fixture
def clickatell(organization):
    gateway = GatewayFactory(organization=organization, type="clickatell", secrets={"webhookTokens": ["new", "old"]})
    return gateway


def _message(organization, gateway, provider_id="af75"):
    return OutboundMessage.objects.create(
        organization=organization,
        recipient="+27820000001",
        body="x",
        gateway=gateway,
        source="portal",
        status="sent",
        provider_message_id=provider_id,
    )


def _status(client, url, body):
    return client.post(url, data=body, content_type="application/json")


def test_unknown_gateway_is_404(client):
    assert client.post(f"/webhooks/{uuid.uuid4()}/status?token=x").status_code == 404
    assert client.post(f"/webhooks/{uuid.uuid4()}/inbound?token=x").status_code == 404


def test_a_gateway_answers_as_soon_as_it_exists_and_stops_as_soon_as_it_is_deactivated(client, organization):
    # Webhook gateways are kept per process (smsportal/localcache.py): an unknown id is not
    # remembered, and saving a gateway drops what the process kept.
    gateway_id = uuid.uuid4()
    body = '{"messageId": "af75", "statusCode": 4}'
    assert _status(client, f"/webhooks/{gateway_id}/status?token=t", body).status_code == 404

    gateway = GatewayFactory(
        id=gateway_id, organization=organization, type="clickatell", secrets={"webhookTokens": ["t"]}
    )
    assert _status(client, f"/webhooks/{gateway_id}/status?token=t", body).status_code == 200

    gateway.is_active = False
    gateway.save()
    assert _status(client, f"/webhooks/{gateway_id}/status?token=t", body).status_code == 404


@pytest.mark.parametrize("query", ["", "?token=wrong", "?token=n%C3%A9w"])
def test_wrong_or_missing_token_is_403_and_changes_nothing(client, organization, clickatell, query, caplog):
    message = _message(organization, clickatell)
    body = '{"messageId": "af75", "statusCode": 4, "text": "secret body +27820000001"}'

    with caplog.at_level(logging.WARNING):
        response = _status(client, f"/webhooks/{clickatell.pk}/status{query}", body)
        inbound = client.post(f"/webhooks/{clickatell.pk}/inbound{query}", data=body, content_type="application/json")

    assert response.status_code == 403 and inbound.status_code == 403
    message.refresh_from_db()
    assert message.status == "sent"
    assert InboundMessage.objects.count() == 0
    assert "secret body" not in caplog.text and "27820000001" not in caplog.text


@pytest.mark.parametrize("where", ["query-new", "query-old", "path", "header"])
def test_both_current_tokens_are_valid_in_query_path_or_header(client, organization, clickatell, where):
    message = _message(organization, clickatell)
    body = '{"messageId": "af75", "statusCode": 4}'
    urls = {
        "query-new": (f"/webhooks/{clickatell.pk}/status?token=new", {}),
        "query-old": (f"/webhooks/{clickatell.pk}/status?token=old", {}),
        "path": (f"/webhooks/{clickatell.pk}/new/status", {}),
        "header": (f"/webhooks/{clickatell.pk}/status", {"HTTP_X_SMSPORTAL_TOKEN": "old"}),
    }
    url, headers = urls[where]

    assert client.post(url, data=body, content_type="application/json", **headers).status_code == 200

    message.refresh_from_db()
    assert message.status == "delivered"


def test_unknown_provider_message_id_is_200_and_logged(client, clickatell, caplog):
    with caplog.at_level(logging.WARNING):
        response = _status(
            client, f"/webhooks/{clickatell.pk}/status?token=new", '{"messageId": "nope", "statusCode": 4}'
        )

    assert response.status_code == 200
    assert "unknown provider message id" in caplog.text


def test_duplicate_and_out_of_order_reports_never_move_a_message_back(client, organization, clickatell):
    message = _message(organization, clickatell)
    url = f"/webhooks/{clickatell.pk}/status?token=new"

    for code in (4, 4, 3):  # delivered, delivered again, then a late "sent"
        assert _status(client, url, f'{{"messageId": "af75", "statusCode": {code}}}').status_code == 200

    message.refresh_from_db()
    assert message.status == "delivered"


def test_garbage_body_is_200_not_500(client, clickatell):
    assert _status(client, f"/webhooks/{clickatell.pk}/status?token=new", "{not json").status_code == 200


def test_twilio_status_callback_through_the_view(client, organization, settings):
    settings.SMSPORTAL_PUBLIC_BASE_URL = "https://sms.example.org"
    gateway = GatewayFactory(
        organization=organization, type="twilio", config={"accountSid": "AC1"}, secrets={"authToken": "tok"}
    )
    message = _message(organization, gateway, provider_id="SM8f")
    form = {"MessageSid": "SM8f", "MessageStatus": "failed", "ErrorCode": "30008", "AccountSid": "AC1"}
    path = f"/webhooks/{gateway.pk}/status"

    forged = client.post(
        path,
        urlencode(form),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=twilio_signature("wrong", f"https://sms.example.org{path}", form),
    )
    assert forged.status_code == 403
    ok = client.post(
        path,
        urlencode(form),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=twilio_signature("tok", f"https://sms.example.org{path}", form),
    )

    assert ok.status_code == 200
    message.refresh_from_db()
    assert (message.status, message.provider_error_code) == ("failed", "30008")


def test_a_report_that_beats_the_id_recording_is_parked_then_applied(client, organization, clickatell):
    from gateways.models import ParkedStatus
    from gateways.providers.base import SendResult
    from messaging.services.delivery import _results_record

    message = OutboundMessage.objects.create(
        organization=organization,
        recipient="+27820000001",
        body="x",
        gateway=clickatell,
        source="portal",
        status="sending",
    )
    # The provider reports delivery before the worker has recorded the provider id.
    response = _status(
        client, f"/webhooks/{clickatell.pk}/status?token=new", '{"messageId": "fast-1", "statusCode": 4}'
    )
    assert response.status_code == 200 and ParkedStatus.objects.count() == 1

    _results_record(
        [message], [SendResult(reference=str(message.pk), accepted=True, provider_message_id="fast-1")], clickatell
    )

    message.refresh_from_db()
    assert message.status == "delivered" and message.provider_message_id == "fast-1"
    assert ParkedStatus.objects.count() == 0


def test_parked_report_marker_in_redis(
    client, organization, clickatell, redis_url, settings, django_assert_num_queries
):
    import redis

    from gateways.parking import MARKER_KEY, status_unpark
    from gateways.providers.base import SendResult
    from messaging.services.delivery import _results_record

    settings.REDIS_URL = redis_url
    redis.Redis.from_url(redis_url).delete(MARKER_KEY.format(clickatell.pk))
    with django_assert_num_queries(0):  # nothing parked: the send path skips the lookup
        assert status_unpark(gateway_id=clickatell.pk, provider_message_ids=["x"]) == []

    message = OutboundMessage.objects.create(
        organization=organization,
        recipient="+27820000001",
        body="x",
        gateway=clickatell,
        source="portal",
        status="sending",
    )
    _status(client, f"/webhooks/{clickatell.pk}/status?token=new", '{"messageId": "fast-2", "statusCode": 4}')
    _results_record(
        [message], [SendResult(reference=str(message.pk), accepted=True, provider_message_id="fast-2")], clickatell
    )

    message.refresh_from_db()
    assert message.status == "delivered"


@pytest.mark.parametrize("kind", ["inbound", "status"])
def test_a_body_over_64_kib_is_413_and_stores_nothing(client, organization, clickatell, kind):
    body = '{"messageId": "m1", "fromNumber": "27820000001", "text": "' + "x" * 70_000 + '"}'

    response = client.post(f"/webhooks/{clickatell.pk}/{kind}?token=new", data=body, content_type="application/json")

    assert response.status_code == 413
    assert not InboundMessage.objects.exists()


def test_clickatell_reply_is_stored_with_the_source_address(client, organization, clickatell):
    body = '{"messageId": "m1", "replyMessageId": "r1", "fromNumber": "27820000001", "text": "1"}'

    response = client.post(
        f"/webhooks/{clickatell.pk}/inbound?token=new",
        data=body,
        content_type="application/json",
        REMOTE_ADDR="203.0.113.9",
    )

    assert response.status_code == 200
    message = InboundMessage.objects.get()
    assert (message.provider_message_id, message.source_ip) == ("r1", "203.0.113.9")
