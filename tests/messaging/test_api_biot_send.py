"""BioT's POST /notification/v1/sms/send: what an integrator relies on."""

import pytest

from gateways.providers.simulator import SimulatorAdapter
from messaging.models import IdempotencyRecord, OptOut, OutboundMessage

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/notification/v1/sms/send"
BODY = {"message": "Time for your 8am dose. Reply 1 when taken.", "phoneNumber": "+12025550101"}


def test_send_returns_the_message_id_and_the_message_is_sent(api_client, gateway):
    response = api_client.post(URL, BODY, format="json")

    assert response.status_code == 200, response.content
    message = OutboundMessage.objects.get(pk=response.json()["messageId"])
    assert set(response.json()) == {"messageId"}
    assert message.status == "sent" and message.source == "biot_api"
    assert message.encoding == "GSM-7" and message.segments == 1
    assert [m.to for m in SimulatorAdapter.outbox] == ["+12025550101"]


def test_same_idempotency_key_and_body_returns_same_id_and_sends_nothing_new(api_client, gateway):
    first = api_client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="reminder-42")
    second = api_client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="reminder-42")

    assert first.status_code == second.status_code == 200
    assert first.json()["messageId"] == second.json()["messageId"]
    assert second["Idempotent-Replayed"] == "true"
    assert OutboundMessage.objects.count() == 1
    assert len(SimulatorAdapter.outbox) == 1


def test_same_idempotency_key_with_another_body_is_a_conflict(api_client, gateway):
    api_client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="reminder-42")

    response = api_client.post(
        URL, {**BODY, "message": "A different text"}, format="json", HTTP_IDEMPOTENCY_KEY="reminder-42"
    )

    assert response.status_code == 409
    assert response.json()["field"] == "Idempotency-Key"
    assert OutboundMessage.objects.count() == 1


def test_idempotency_keys_are_per_organization(api_client, other_api_client, gateway, other_organization):
    from tests.factories import GatewayFactory

    GatewayFactory(organization=other_organization)
    a = api_client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    b = other_api_client.post(URL, {**BODY, "message": "other"}, format="json", HTTP_IDEMPOTENCY_KEY="k1")

    assert a.status_code == b.status_code == 200
    assert a.json()["messageId"] != b.json()["messageId"]


def test_a_refused_request_leaves_its_idempotency_key_free(api_client, gateway):
    bad = api_client.post(URL, {**BODY, "phoneNumber": "2025550101"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    good = api_client.post(URL, BODY, format="json", HTTP_IDEMPOTENCY_KEY="k")

    assert bad.status_code == 400 and good.status_code == 200
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.parametrize(
    "payload, field",
    [
        ({"message": "Hi"}, "phoneNumber"),
        ({"phoneNumber": "+12025550101"}, "message"),
        ({"message": "Hi", "phoneNumber": "2025550101"}, "phoneNumber"),  # not full international format
        ({"message": "Hi", "phoneNumber": "+1202"}, "phoneNumber"),
        ({"message": "Hi", "phoneNumber": 12025550101}, "phoneNumber"),
        ({"message": ["Hi"], "phoneNumber": "+12025550101"}, "message"),
        ({"message": "", "phoneNumber": "+12025550101"}, "message"),
        ({"message": "x" * 1531, "phoneNumber": "+12025550101"}, "message"),  # 11 GSM-7 segments
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_nothing_is_saved(api_client, gateway, payload, field):
    response = api_client.post(URL, payload, format="json")

    assert response.status_code == 400, response.content
    body = response.json()
    assert body.get("field") == field or field in body.get("fields", {}), body
    assert OutboundMessage.objects.count() == 0


def test_malformed_json_is_a_400(api_client, gateway):
    response = api_client.post(URL, '{"message": "Hi", ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["field"] == "body" and "JSON" in response.json()["error"]
    assert OutboundMessage.objects.count() == 0


def test_json_array_body_is_a_400(api_client, gateway):
    response = api_client.post(URL, "[1, 2]", content_type="application/json")

    assert response.status_code == 400 and response.json()["field"] == "body"
    assert OutboundMessage.objects.count() == 0


def test_opted_out_number_is_refused_with_the_reason(api_client, gateway, organization):
    OptOut.objects.create(organization=organization, phone_number="+12025550101")

    response = api_client.post(URL, BODY, format="json")

    assert response.status_code == 409
    assert response.json()["field"] == "phoneNumber" and "opted out" in response.json()["error"]
    assert OutboundMessage.objects.count() == 0


def test_no_gateway_is_a_409_and_nothing_is_saved(api_client):
    response = api_client.post(URL, BODY, format="json")

    assert response.status_code == 409
    assert response.json()["error"] == "No default gateway configured"
    assert OutboundMessage.objects.count() == 0


@pytest.mark.parametrize("header", [None, "Bearer sp_nope_wrong", "Bearer", "Basic Zm9vOmJhcg=="])
def test_missing_or_wrong_key_is_a_401(gateway, header):
    from rest_framework.test import APIClient

    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.post(URL, BODY, format="json")

    assert response.status_code == 401, response.content
    assert response.json()["field"] == "Authorization" and response.json()["error"]
    assert response.has_header("WWW-Authenticate")
    assert OutboundMessage.objects.count() == 0


def test_unicode_text_is_ucs2_and_counted_in_70s(api_client, gateway):
    response = api_client.post(URL, {**BODY, "message": "שלום " * 20}, format="json")

    message = OutboundMessage.objects.get(pk=response.json()["messageId"])
    assert message.encoding == "UCS-2" and message.segments == 2


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/*;q=0.9, text/html;q=0.1"])
def test_any_accept_that_admits_json_gets_json(api_client, gateway, accept):
    headers = {"HTTP_ACCEPT": accept} if accept else {}
    response = api_client.post(URL, BODY, format="json", **headers)

    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    assert "messageId" in response.json()


def test_an_accept_without_json_is_refused_and_sends_nothing(api_client, gateway):
    response = api_client.post(URL, BODY, format="json", HTTP_ACCEPT="text/html")

    assert response.status_code == 406
    assert OutboundMessage.objects.count() == 0
