"""A DHIS2 client reading a gateway gets every field DHIS2 documents (and echoes it back on update);
only `PUT /api/gateways/default/{uid}` moves the default; a refused generic configuration reports
every problem at once."""

import pytest

from gateways.config import MASK
from gateways.models import Gateway
from tests.gateways.test_api import _public_dns  # noqa: F401 — sms.example.com looks public offline

pytestmark = pytest.mark.django_db

GENERIC = {
    "type": "http",
    "name": "generic",
    "urlTemplate": "https://sms.example.com/send",
    "parameters": [
        {"key": "username", "value": "user12"},
        {"key": "password", "value": "s3cret", "confidential": True},
    ],
}


def _create(api_client, body) -> str:
    response = api_client.post("/api/gateways", body, format="json")
    assert response.status_code == 200, response.content
    return response.json()["response"]["uid"]


def test_a_generic_gateway_read_has_use_get_send_url_parameters_and_masked_parameters(api_client, organization):
    uid = _create(api_client, GENERIC)

    read = api_client.get(f"/api/gateways/{uid}").json()

    assert read["useGet"] is False and read["sendUrlParameters"] is False
    assert read["parameters"] == [
        {"key": "username", "value": "user12", "header": False, "encode": False, "confidential": False},
        {"key": "password", "value": MASK, "header": False, "encode": False, "confidential": True},
    ]
    assert "s3cret" not in str(api_client.get("/api/gateways").content)


def test_the_read_echoed_back_keeps_the_confidential_value(api_client, organization):
    uid = _create(api_client, GENERIC)
    read = api_client.get(f"/api/gateways/{uid}").json()

    assert api_client.put(f"/api/gateways/{uid}", {**read, "useGet": True}, format="json").status_code == 200

    gateway = Gateway.objects.get()
    assert gateway.config["useGet"] is True and gateway.secrets["parameters"] == {"password": "s3cret"}


def test_a_bulksms_read_shows_its_v1_url(api_client, organization):
    uid = _create(api_client, {"type": "bulksms", "name": "b", "username": "u", "password": "p"})

    read = api_client.get(f"/api/gateways/{uid}").json()

    assert read["urlTemplate"] == "https://api.bulksms.com/v1/messages"
    assert read["password"] == MASK and read["sendUrlParameters"] is False


def test_put_with_is_default_on_a_non_default_gateway_is_409_and_changes_nothing(api_client, organization):
    first = _create(api_client, {"type": "bulksms", "name": "first", "username": "u", "password": "p"})
    second = _create(api_client, {"type": "bulksms", "name": "second", "username": "u", "password": "p"})

    response = api_client.put(f"/api/gateways/{second}", {"isDefault": True, "name": "renamed"}, format="json")

    assert response.status_code == 409
    assert response.json()["message"] == "Default gateway already exists"
    assert Gateway.objects.get(is_default=True).uid == first
    assert Gateway.objects.get(name="second")  # nothing half-saved
    assert api_client.put(f"/api/gateways/{first}", {"isDefault": True}, format="json").status_code == 200
    assert api_client.put(f"/api/gateways/default/{second}").status_code == 200
    assert Gateway.objects.get(is_default=True).uid == second


def test_a_refused_generic_configuration_reports_every_problem(api_client, organization):
    body = {
        "type": "http",
        "name": "g",
        "contentType": "NOPE",
        "parameters": [{"key": ""}, {"value": "x"}],
    }

    response = api_client.post("/api/gateways", body, format="json")

    assert response.status_code == 400
    fields = [e["field"] for e in response.json()["response"]["errors"]]
    assert fields == ["parameters[0].key", "parameters[1].key", "contentType", "urlTemplate"]
    assert not Gateway.objects.exists()
