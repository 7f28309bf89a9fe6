"""Hostile input is a 4xx whose message names the field, never a 500, and nothing is stored.

Every body here is posted for real through the test client: the full middleware, parser and
view stack runs.
"""

import json
import re
import uuid
from urllib.parse import urlencode

import pytest
import yaml

from gateways.simulator import twilio_signature
from messaging.models import InboundMessage
from tests.factories import GatewayFactory

pytestmark = pytest.mark.django_db

DEEP = "[" * 20000 + "]" * 20000


def _json_write_operations(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            content = (operation.get("requestBody") or {}).get("content") or {}
            if method in ("post", "put", "patch") and "application/json" in content:
                yield method, path


def test_the_schema_lists_the_json_write_endpoints(client):
    found = set(_json_write_operations(client))
    assert {("post", "/notification/v1/sms/send"), ("post", "/api/sms/outbound"), ("post", "/api/gateways")} <= found


def test_deeply_nested_json_is_a_400_on_every_json_write_endpoint(client, api_client, gateway):
    for method, path in _json_write_operations(client):
        concrete = re.sub(r"\{[^}]+\}", str(gateway.pk), path)
        response = getattr(api_client, method)(concrete, DEEP, content_type="application/json")
        assert 400 <= response.status_code < 500, (method, concrete, response.status_code, response.content[:200])
        if response.status_code == 400:
            assert b"nested" in response.content or b"body" in response.content, (concrete, response.content)


@pytest.mark.parametrize(
    "body",
    [DEEP, "[" * 40 + "]" * 40, '{"message": "hi", "x": ' + "[" * 40 + "]" * 40 + "}"],
    ids=["20000", "40", "40 in x"],
)
def test_deep_json_names_the_body(api_client, gateway, body):
    response = api_client.post("/notification/v1/sms/send", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["field"] == "body" and "nested" in response.json()["error"]


def test_an_array_where_an_object_belongs_names_the_body_in_both_places(api_client, gateway):
    response = api_client.post("/notification/v1/sms/send", "[1, 2]", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["field"] == "body" and list(response.json()["fields"]) == ["body"]


@pytest.mark.parametrize(
    "body, field",
    [
        ('{"message": "hi \\u0000", "phoneNumber": "+4791234567"}', "message"),
        ('{"message": "hi \\ud800", "phoneNumber": "+4791234567"}', "message"),
        ('{"message": "hi", "phoneNumber": "+4791234567", "extra": {"a": ["\\u0000"]}}', "extra.a[0]"),
    ],
)
def test_nul_and_lone_surrogates_in_json_name_the_field(api_client, gateway, body, field):
    response = api_client.post("/notification/v1/sms/send", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["field"] == field
    assert response.json()["error"].startswith(f"{field}: ")


def test_a_lone_surrogate_on_gateway_put_is_a_400_and_changes_nothing(api_client, gateway):
    before = (gateway.name, gateway.config)
    body = '{"name": "renamed \\ud800", "type": "simulator"}'
    response = api_client.put(f"/api/gateways/{gateway.pk}", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert "name" in response.content.decode()
    gateway.refresh_from_db()
    assert (gateway.name, gateway.config) == before


@pytest.mark.parametrize("text", ["\\ud800", "a\\u0000b"])
def test_dhis2_inbound_post_refuses_unstorable_text(api_client, organization, text):
    body = '{"originator": "+4791234567", "text": "TEXT"}'.replace("TEXT", text)
    response = api_client.post("/api/sms/inbound", body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json()["response"]["field"] == "text"
    assert not InboundMessage.objects.exists()


def test_a_nul_in_a_query_string_is_a_400_naming_the_parameter(api_client, organization):
    response = api_client.post("/api/sms/inbound?originator=%2B4791234567&message=a%00b")
    assert response.status_code == 400
    assert response.json()["field"] == "message"
    assert api_client.get("/api/sms/outbound?filter=a%00").json()["field"] == "filter"
    assert not InboundMessage.objects.exists()


# -- webhooks ------------------------------------------------------------------------------------


@pytest.fixture
def twilio(organization, settings):
    settings.SMSPORTAL_PUBLIC_BASE_URL = "https://sms.example.org"
    return GatewayFactory(
        organization=organization, type="twilio", config={"accountSid": "AC1"}, secrets={"authToken": "tok"}
    )


def _twilio_post(client, gateway, form, *, sign=True):
    path = f"/webhooks/{gateway.pk}/inbound"
    return client.post(
        path,
        urlencode(form),
        content_type="application/x-www-form-urlencoded",
        HTTP_X_TWILIO_SIGNATURE=twilio_signature("tok", f"https://sms.example.org{path}", form) if sign else "x",
    )


def test_a_signed_twilio_webhook_with_a_nul_in_from_is_a_400(client, twilio):
    form = {"MessageSid": "SM1", "From": "+4791234567\x00", "To": "+4790000000", "Body": "hi"}
    response = _twilio_post(client, twilio, form)
    assert response.status_code == 400
    assert response.json()["field"] == "From"
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize(
    "content_type, body",
    [
        ("application/json", '{"MessageSid": "SM1", "From": "+4791234567", "Body": "hi"}'),
        ("multipart/form-data; boundary=xyz", "--xyz\r\nnot a part\r\n--xyz--\r\n"),
        ("multipart/form-data; boundary=xyz", '--xyz\r\nContent-Disposition: form-data; name="F"\r\n\r\n1\r\n--xyz--'),
    ],
)
def test_a_twilio_webhook_with_a_json_or_multipart_body_is_refused(client, twilio, content_type, body):
    response = client.post(
        f"/webhooks/{twilio.pk}/inbound", body, content_type=content_type, HTTP_X_TWILIO_SIGNATURE="anything"
    )
    assert 400 <= response.status_code < 500, response.content
    assert not InboundMessage.objects.exists()


def test_a_signed_twilio_get_replayed_with_a_body_stores_only_what_was_signed(client, twilio):
    query = {"MessageSid": "SM9", "From": "+4791234567", "To": "+4790000000", "Body": "signed text"}
    path = f"/webhooks/{twilio.pk}/inbound?{urlencode(query)}"
    signature = twilio_signature("tok", f"https://sms.example.org{path}", {})
    forged = urlencode({"MessageSid": "SM9", "From": "+4798765432", "Body": "forged text"})

    response = client.generic(
        "GET", path, forged, content_type="application/x-www-form-urlencoded", HTTP_X_TWILIO_SIGNATURE=signature
    )

    assert response.status_code == 200, response.content
    message = InboundMessage.objects.get()
    assert (message.originator, message.text) == ("+4791234567", "signed text")


def test_the_unauthenticated_sns_webhook_refuses_deep_json(client, organization):
    gateway = GatewayFactory(organization=organization, type="sns", config={"region": "us-east-1"})
    response = client.post(f"/webhooks/{gateway.pk}/inbound", DEEP, content_type="text/plain")
    assert response.status_code == 400
    assert response.json()["field"] == "body"


@pytest.mark.parametrize("body", ["1", '"x"', "true"])
def test_a_bulksms_webhook_with_a_scalar_body_is_a_400(client, organization, body):
    gateway = GatewayFactory(organization=organization, type="bulksms", secrets={"webhookTokens": ["t"]})
    for kind in ("inbound", "status"):
        response = client.post(f"/webhooks/{gateway.pk}/{kind}?token=t", body, content_type="application/json")
        assert response.status_code == 400, (kind, response.content)
        assert response.json()["field"] == "body"


def test_a_generic_webhook_with_a_nul_in_a_json_field_is_a_400(client, organization):
    gateway = GatewayFactory(organization=organization, type="http", secrets={"webhookTokens": ["t"]})
    body = json.dumps({"from": "+4791234567", "text": "a\x00b", "id": str(uuid.uuid4())})
    response = client.post(f"/webhooks/{gateway.pk}/inbound?token=t", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["field"] == "text"
    assert not InboundMessage.objects.exists()


@pytest.mark.parametrize(
    "method, path, body, field",
    [
        ("post", "/api/sms/outbound", {"message": "hi", "recipients": ["+4740612345"], "subject": 5}, "subject"),
        ("post", "/api/v1/patients/", {"_name": {"firstName": 7}, "_phone": "+12025550150"}, "_name.firstName"),
        ("post", "/api/v1/patients/", {"_name": {"firstName": "A"}, "_locale": 5}, "_locale"),
        ("post", "/api/v1/keyword-commands", {"keyword": True, "action": "ignore"}, "keyword"),
        ("post", "/api/v1/message-templates", {"kind": "help", "locale": "es", "text": 12}, "text"),
        ("post", "/api/v1/consent-programs/", {"slug": "r", "name": "R", "consentText": 1}, "consentText"),
    ],
)
def test_a_number_or_boolean_where_text_belongs_is_a_400_naming_the_field(
    api_client, gateway, method, path, body, field
):
    """DRF's CharField stored "5" for a 5: an integrator's mistyped field should be refused."""
    response = getattr(api_client, method)(path, body, format="json")

    assert response.status_code == 400, response.content
    answer = response.json()
    named = (
        answer.get("field") or (answer.get("response") or {}).get("field") or next(iter(answer.get("fields", {})), "")
    )
    assert named == field or field in answer.get("fields", {}) or field in str(answer), answer
    assert "must be a string" in str(answer), answer
