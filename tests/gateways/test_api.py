"""The DHIS2 gateway API: every endpoint, secrets hidden and kept, defaults, scoping, bad input."""

import pytest

from gateways.config import MASK
from gateways.models import Gateway
from tests.factories import GatewayFactory

pytestmark = pytest.mark.django_db

CLICKATELL = {"type": "clickatell", "name": "clickatell", "username": "clickatelluser", "authToken": "key-123"}
GENERIC = {
    "type": "http",
    "name": "generic",
    "messageParameter": "message",
    "recipientParameter": "msisdn",
    "urlTemplate": "https://sms.example.com/send?x=1",
    "parameters": [
        {"key": "username", "value": "user12", "classified": "false", "header": "false"},
        {"key": "password", "value": "XXX", "classified": "true", "header": "false"},
    ],
}


@pytest.fixture(autouse=True)
def _public_dns(monkeypatch):
    """sms.example.com must look public without network access (the check itself is tested below)."""
    import socket

    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host.endswith("example.com"):
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def create(client, body, path="/api/gateways"):
    response = client.post(path, body, format="json")
    assert response.status_code == 200, response.json()
    return Gateway.objects.get(pk=response.json()["response"]["uid"])


def test_create_answers_dhis2_web_message_with_location(api_client):
    response = api_client.post("/api/gateways", CLICKATELL, format="json")

    body = response.json()
    assert response.status_code == 200
    assert body["httpStatus"] == "OK" and body["status"] == "OK" and body["message"] == "Gateway configuration added"
    assert response["Location"].endswith(f"/api/gateways/{body['response']['uid']}")


def test_secrets_are_encrypted_never_returned_and_kept_on_update(api_client):
    gateway = create(api_client, GENERIC)

    listed = api_client.get("/api/gateways").json()["gateways"][0]
    single = api_client.get(f"/api/26/gateways/{gateway.uid}").json()

    for shown in (listed, single):
        assert "XXX" not in str(shown)
        assert shown["parameters"][1] == {
            "key": "password",
            "value": MASK,
            "header": False,
            "encode": False,
            "confidential": True,
        }
        assert shown["parameters"][0]["value"] == "user12"
    # blank, masked or absent → kept; a new value replaces it
    for value in ("", MASK, None):
        params = [
            dict(GENERIC["parameters"][0]),
            {"key": "password", "classified": True, **({"value": value} if value is not None else {})},
        ]
        assert api_client.put(f"/api/gateways/{gateway.uid}", {"parameters": params}, format="json").status_code == 200
        gateway.refresh_from_db()
        assert gateway.secrets["parameters"]["password"] == "XXX"
    params = [{"key": "password", "value": "new-pass", "confidential": True}]
    api_client.put(f"/api/gateways/{gateway.uid}", {"parameters": params}, format="json")
    gateway.refresh_from_db()
    assert gateway.secrets["parameters"] == {"password": "new-pass"}
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secrets FROM gateways_gateway WHERE id = %s",
            [gateway.pk.hex if connection.vendor == "sqlite" else gateway.pk],
        )
        stored = cursor.fetchone()[0]
    assert "new-pass" not in stored and stored.startswith("gAAAA")


def test_clickatell_token_hidden_and_kept_when_update_omits_it(api_client):
    gateway = create(api_client, CLICKATELL)

    shown = api_client.get(f"/api/gateways/{gateway.uid}").json()
    response = api_client.put(f"/api/gateways/{gateway.uid}", {"name": "renamed", "authToken": ""}, format="json")

    assert shown["authToken"] == MASK and "key-123" not in str(shown)
    assert response.json()["message"] == f"Gateway with uid: {gateway.uid} has been updated"
    gateway.refresh_from_db()
    assert gateway.name == "renamed" and gateway.secrets["authToken"] == "key-123"


def test_gateway_json_shows_webhook_urls_with_token(api_client, settings):
    settings.SMSPORTAL_PUBLIC_BASE_URL = "https://sms.example.org"
    gateway = create(api_client, CLICKATELL)

    shown = api_client.get(f"/api/gateways/{gateway.uid}").json()

    token = gateway.webhook_tokens()[0]
    assert shown["inboundUrl"] == f"https://sms.example.org/webhooks/{gateway.uid}/inbound?token={token}"
    assert shown["statusUrl"] == f"https://sms.example.org/webhooks/{gateway.uid}/status?token={token}"
    assert "webhookTokens" not in shown


def test_typed_routes_create_and_update(api_client):
    bulksms = create(
        api_client, {"name": "bulkSMS", "username": "bulkuser", "password": "abc123"}, "/api/26/gateways/bulksms"
    )
    generic = create(api_client, {k: v for k, v in GENERIC.items() if k != "type"}, "/api/gateways/generichttp")

    updated = api_client.put("/api/gateways/bulksms", {"username": "other"}, format="json")
    by_uid = api_client.put(f"/api/gateways/generichttp/{generic.uid}", {"useGet": True}, format="json")
    wrong_type = api_client.put(f"/api/gateways/clickatell/{generic.uid}", {"name": "x"}, format="json")

    assert (bulksms.type, generic.type) == ("bulksms", "http")
    assert updated.status_code == 200 and by_uid.status_code == 200
    bulksms.refresh_from_db()
    generic.refresh_from_db()
    assert bulksms.config["username"] == "other" and bulksms.secrets["password"] == "abc123"
    assert generic.config["useGet"] is True
    assert wrong_type.status_code == 409


def test_twilio_and_sns_in_the_same_style(api_client):
    twilio = create(
        api_client,
        {
            "name": "tw",
            "accountSid": "AC1",
            "authToken": "tok",
            "messagingServiceSid": "MG1",
            "inboundNumbers": ["+12025550100"],
        },
        "/api/gateways/twilio",
    )
    sns = create(
        api_client,
        {
            "name": "aws",
            "region": "us-east-1",
            "secretAccessKey": "s",
            "accessKeyId": "AK",
            "topicArns": ["arn:aws:sns:us-east-1:111122223333:t"],
        },
        "/api/gateways/sns",
    )

    shown = api_client.get(f"/api/gateways/{twilio.uid}").json()
    assert shown["inboundNumbers"] == [{"number": "+12025550100", "country": "US"}] and shown["authToken"] == MASK
    assert "?token=" not in shown["statusUrl"]  # Twilio signs its callbacks
    assert api_client.get(f"/api/gateways/{sns.uid}").json()["secretAccessKey"] == MASK


def test_a_twilio_from_number_is_an_inbound_number_and_numbers_carry_their_country(api_client, organization):
    from messaging.services.outbound import messages_queue

    twilio = create(
        api_client,
        {"name": "tw", "accountSid": "AC1", "authToken": "tok", "from": "+12025550100",
         "inboundNumbers": [{"number": "+447400123456", "country": "FR"}]},
        "/api/gateways/twilio",
    )  # fmt: skip

    shown = api_client.get(f"/api/gateways/{twilio.uid}").json()["inboundNumbers"]
    assert sorted(shown, key=lambda n: n["number"]) == [
        {"number": "+12025550100", "country": "US"},  # the `from`, added by itself
        {"number": "+447400123456", "country": "GB"},  # the country comes from the number
    ]
    api_client.put(f"/api/gateways/{twilio.uid}", {"inboundNumbers": []}, format="json")
    assert api_client.get(f"/api/gateways/{twilio.uid}").json()["inboundNumbers"] == [
        {"number": "+12025550100", "country": "US"}
    ]
    sent = messages_queue(
        organization=organization, recipients=["+12025550111"], body="Hi", source="portal", gateway=twilio
    )
    assert sent.messages[0].sender == "+12025550100"
    # A number listed for the same country wins over the From; a replaced From is no longer listed.
    api_client.put(f"/api/gateways/{twilio.uid}", {"inboundNumbers": ["+13125550100"]}, format="json")
    twilio = Gateway.objects.get(pk=twilio.pk)
    sent = messages_queue(
        organization=organization, recipients=["+12025550112"], body="Hi", source="portal", gateway=twilio
    )
    assert sent.messages[0].sender == "+13125550100"
    api_client.put(f"/api/gateways/{twilio.uid}", {"from": "+12025550199"}, format="json")
    numbers = {n["number"] for n in api_client.get(f"/api/gateways/{twilio.uid}").json()["inboundNumbers"]}
    assert numbers == {"+13125550100", "+12025550199"}


def test_first_gateway_is_default_and_default_endpoints(api_client):
    assert api_client.get("/api/gateways/default").json()["message"] == "No default gateway found"
    first = create(api_client, CLICKATELL)
    second = create(api_client, {**CLICKATELL, "name": "second"})

    assert api_client.get("/api/gateways/default").json()["uid"] == first.uid
    response = api_client.put(f"/api/gateways/default/{second.uid}")
    assert response.status_code == 200 and response.json()["message"] == "second is set to default"
    assert api_client.get("/api/gateways/default").json()["uid"] == second.uid
    first.refresh_from_db()
    assert not first.is_default


def test_deleting_the_default_promotes_the_first_remaining(api_client):
    first = create(api_client, CLICKATELL)
    second = create(api_client, {**CLICKATELL, "name": "second"})
    third = create(api_client, {**CLICKATELL, "name": "third"})
    api_client.put(f"/api/gateways/default/{third.uid}")

    response = api_client.delete(f"/api/gateways/{third.uid}")

    assert response.status_code == 200 and response.json()["message"] == "Gateway removed successfully"
    assert api_client.get("/api/gateways/default").json()["uid"] == first.uid
    assert api_client.get(f"/api/gateways/{third.uid}").status_code == 404
    assert Gateway.objects.filter(pk=second.pk).exists()


def test_another_organizations_gateway_is_404_everywhere(api_client, other_organization):
    theirs = GatewayFactory(organization=other_organization, type="clickatell", secrets={"authToken": "k"})

    for method, path in [
        ("get", f"/api/gateways/{theirs.uid}"),
        ("put", f"/api/gateways/{theirs.uid}"),
        ("delete", f"/api/gateways/{theirs.uid}"),
        ("put", f"/api/gateways/default/{theirs.uid}"),
        ("put", f"/api/gateways/clickatell/{theirs.uid}"),
    ]:
        response = getattr(api_client, method)(path, {"name": "x"}, format="json")
        assert response.status_code == 404, path
        assert response.json()["errorCode"] == "E1005"
        assert response.json()["message"] == f"Gateway with id {theirs.uid} could not be found."
    assert api_client.get("/api/gateways").json() == {"gateways": []}
    theirs.refresh_from_db()
    assert theirs.name != "x" and theirs.is_default


def test_unauthenticated_is_refused(client):
    assert client.get("/api/gateways").status_code in (401, 403)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x"}, "type"),
        ({"type": "smpp-ish", "name": "x"}, "type"),
        ({"type": "clickatell"}, "name"),
        ({"type": "clickatell", "name": "x"}, "authToken"),
        ({"type": "bulksms", "name": "x", "username": "u"}, "password"),
        ({"type": "http", "name": "x"}, "urlTemplate"),
        ({"type": "http", "name": "x", "urlTemplate": "not a url"}, "urlTemplate"),
        ({"type": "http", "name": "x", "urlTemplate": "https://sms.example.com/${bad placeholder}"}, "urlTemplate"),
        ({"type": "http", "name": "x", "urlTemplate": "http://127.0.0.1:8080/send"}, "urlTemplate"),
        ({"type": "http", "name": "x", "urlTemplate": "http://169.254.169.254/latest"}, "urlTemplate"),
        (
            {"type": "http", "name": "x", "urlTemplate": "https://sms.example.com/", "contentType": "YAML"},
            "contentType",
        ),
        (
            {"type": "http", "name": "x", "urlTemplate": "https://sms.example.com/", "configurationTemplate": "${text"},
            "configurationTemplate",
        ),
        (
            {"type": "http", "name": "x", "urlTemplate": "https://sms.example.com/", "parameters": [{"value": "v"}]},
            "parameters[0].key",
        ),
        ({"type": "http", "name": "x", "urlTemplate": "https://sms.example.com/", "useGet": "maybe"}, "useGet"),
        ({"type": "twilio", "name": "x", "accountSid": "AC1", "authToken": "t"}, "from"),
        ({"type": "twilio", "name": "x", "from": "+12025550100", "authToken": "t"}, "accountSid"),
        ({"type": "twilio", "name": "x", "accountSid": "AC1", "authToken": "t", "from": "not-a-number"}, "from"),
        ({"type": "twilio", "name": "x", "accountSid": "AC1", "authToken": "t", "from": "Clinic Portal"}, "from"),
        ({"type": "twilio", "name": "x", "accountSid": "AC1", "authToken": "t", "from": "12025550100"}, "from"),
        (
            {
                "type": "http",
                "name": "x",
                "urlTemplate": "https://sms.example.com/",
                "configurationTemplate": "${nope}",
            },
            "configurationTemplate",
        ),
        ({"type": "http", "name": "x", "urlTemplate": "https://sms.example.com/?u=${usr}"}, "urlTemplate"),
        ({"type": "http", "name": "x", "urlTemplate": "https://sms.example.com/", "method": "PATCH"}, "method"),
        ({"type": "sns", "name": "x", "region": "mars-1"}, "region"),
        ({"type": "sns", "name": "x", "region": "us-east-1x", "service": "pinpoint-sms-voice-v2"}, "region"),
        ({"type": "sns", "name": "x", "region": "us-east-1", "endpointUrl": "http://10.0.0.5:4566"}, "endpointUrl"),
        ({"type": "sns", "name": "x", "region": "us-east-1", "service": "ses"}, "service"),
        ({"type": "clickatell", "name": "x", "authToken": "k", "maxSmsLength": "lots"}, "maxSmsLength"),
        ({"type": "clickatell", "name": "x", "authToken": "k", "inboundNumbers": ["12"]}, "inboundNumbers[0]"),
        ({"type": "clickatell", "name": "x", "authToken": "k", "fallback": "not-a-uid"}, "fallback"),
    ],
)
def test_bad_gateway_config_is_400_naming_the_field(api_client, settings, body, field):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = False

    response = api_client.post("/api/gateways", body, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["response"]["field"] == field
    assert response.json()["status"] == "ERROR"
    assert Gateway.objects.count() == 0


def test_non_object_body_is_400(api_client):
    response = api_client.post("/api/gateways", ["x"], format="json")

    assert response.status_code == 400 and response.json()["response"]["field"] == "body"


def test_changing_the_type_is_409(api_client):
    gateway = create(api_client, CLICKATELL)

    response = api_client.put(f"/api/gateways/{gateway.uid}", {"type": "bulksms"}, format="json")

    assert response.status_code == 409
    assert response.json()["message"] == "Type of an existing configuration cannot be changed"


def test_fallback_and_rate_limit_are_configurable(api_client):
    primary = create(api_client, CLICKATELL)
    backup = create(api_client, {**CLICKATELL, "name": "backup"})

    api_client.put(f"/api/gateways/{primary.uid}", {"fallback": backup.uid, "rateLimitPerSecond": 50}, format="json")

    shown = api_client.get(f"/api/gateways/{primary.uid}").json()
    assert shown["fallback"] == backup.uid and shown["rateLimitPerSecond"] == 50.0


def test_default_shows_the_global_gateway_an_organization_without_one_sends_through(api_client):
    shared = GatewayFactory(
        organization=None,
        name="shared",
        type="twilio",
        config={"accountSid": "AC1", "from": "+12025550100"},
        secrets={"authToken": "global-secret", "webhookTokens": ["hook-token"]},
    )

    response = api_client.get("/api/gateways/default")

    assert response.status_code == 200
    body = response.json()
    assert body["uid"] == shared.uid and body["global"] is True and body["readOnly"] is True
    assert "global-secret" not in response.content.decode() and "hook-token" not in response.content.decode()
    assert "accountSid" not in body and "inboundUrl" not in body
    for method, path in [
        ("put", f"/api/gateways/{shared.uid}"),
        ("delete", f"/api/gateways/{shared.uid}"),
        ("put", f"/api/gateways/default/{shared.uid}"),
    ]:
        assert getattr(api_client, method)(path, {"name": "x"}, format="json").status_code == 404, path
    shared.refresh_from_db()
    assert shared.name == "shared" and shared.is_default

    own = create(api_client, CLICKATELL)
    mine = api_client.get("/api/gateways/default").json()
    assert mine["uid"] == own.uid and mine["global"] is False


@pytest.mark.parametrize(
    "body",
    [
        {"type": "twilio", "name": "t", "accountSid": "AC1", "authToken": "t", "from": "+12025550100"},
        {"type": "twilio", "name": "t", "accountSid": "AC1", "authToken": "t", "from": "Clinic 1"},
        {"type": "twilio", "name": "t", "accountSid": "AC1", "authToken": "t", "messagingServiceSid": "MG1"},
        {
            "type": "http",
            "name": "h",
            "urlTemplate": "https://sms.example.com/send?user=${user}",
            "configurationTemplate": '{"to": "${recipients_no_plus}", "msg": "${text}", "ref": "${id}", "k": "${key}"}',
            "parameters": [{"key": "user", "value": "u"}, {"key": "key", "value": "s", "confidential": True}],
        },
        {"type": "sns", "name": "a", "region": "eu-west-1", "service": "pinpoint-sms-voice-v2"},
        {"type": "sns", "name": "a", "region": "us-gov-west-1"},
    ],
    ids=["e164", "alphanumeric", "messaging-service", "http-known-placeholders", "eum-region", "govcloud-region"],
)
def test_good_gateway_config_is_accepted(api_client, body):
    response = api_client.post("/api/gateways", body, format="json")

    assert response.status_code == 200, response.json()


def test_every_problem_is_reported_at_once(api_client):
    response = api_client.post("/api/gateways", {"type": "twilio", "name": "t"}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body["response"]["field"] == "from"
    assert {e["field"] for e in body["response"]["errors"]} == {"from", "accountSid", "authToken"}
    assert "accountSid" in body["message"] and "authToken" in body["message"]


def test_inbound_number_in_an_unlisted_country_is_accepted_with_a_warning(api_client):
    from gateways.receive_countries import inbound_number_warning

    created = api_client.post(
        "/api/gateways", {**CLICKATELL, "inboundNumbers": ["+254711000111", "+12025550100"]}, format="json"
    )
    plain = api_client.post(
        "/api/gateways", {**CLICKATELL, "name": "us", "inboundNumbers": ["+12025550100"]}, format="json"
    )

    assert created.status_code == 200 and created.json()["response"]["warnings"] == [inbound_number_warning("KE")]
    assert "warnings" not in plain.json()["response"]
    updated = api_client.put(
        f"/api/gateways/{plain.json()['response']['uid']}", {"inboundNumbers": ["+254711000112"]}, format="json"
    )
    assert updated.json()["response"]["warnings"] == [inbound_number_warning("KE")]
