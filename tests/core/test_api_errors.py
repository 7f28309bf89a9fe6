"""Every API error is JSON that names the field; no HTML pages, no 500s, no Python reprs."""

import pytest

from smsportal.exceptions import flatten_errors

pytestmark = pytest.mark.django_db


def test_post_without_trailing_slash_reaches_the_api(api_client):
    response = api_client.post("/api/v1/patients", {"_name": {"firstName": "Ana", "lastName": "Lopez"}}, format="json")

    assert response.status_code == 201
    assert response.json()["_name"] == {"firstName": "Ana", "lastName": "Lopez"}


def test_dhis2_route_answers_with_a_trailing_slash(api_client, gateway):
    response = api_client.post("/api/sms/outbound/", {"message": "hi", "recipients": ["+12025550101"]}, format="json")

    assert response.status_code == 200


def test_huge_offset_is_a_400_naming_the_parameter(api_client):
    response = api_client.get("/api/v1/patients/?offset=99999999999999999999")

    assert response.status_code == 400
    assert response.json()["field"] == "offset"


def test_huge_limit_is_capped(api_client):
    response = api_client.get("/api/v1/patients/?limit=99999999999999999999")

    assert response.status_code == 200


@pytest.mark.parametrize("path", ["/api/nothing", "/api/v1/patients/not-a-uuid/", "/notification/v1/nope"])
def test_unknown_api_paths_are_json_404s(api_client, path):
    response = api_client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert "error" in response.json()


def test_nested_errors_read_as_field_paths():
    errors = {"recipients": {0: ["must be a string"]}, "_name": {"firstName": ["This field is required."]}}

    assert flatten_errors(errors) == [
        ("recipients[0]", "must be a string"),
        ("_name.firstName", "This field is required."),
    ]


def test_nested_validation_error_names_the_nested_field(api_client):
    response = api_client.post("/api/v1/patients/", {"_name": "Bob"}, format="json")

    body = response.json()
    assert response.status_code == 400
    assert body["field"].startswith("_name")
    assert "ErrorDetail" not in body["error"]


def test_api_docs_page_uses_bundled_swagger_ui(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    assert b"cdn.jsdelivr.net" not in response.content
