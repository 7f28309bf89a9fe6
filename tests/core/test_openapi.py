"""The OpenAPI schema documents every send and entity endpoint with its request and response shapes."""

import re

import pytest
import yaml

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


@pytest.mark.parametrize(
    "path, method, request_body",
    [
        ("/notification/v1/sms/send", "post", True),
        ("/api/sms/outbound", "post", True),
        ("/api/sms/outbound", "get", False),
        ("/api/sms/outbound", "delete", False),
        ("/api/sms/outbound/{uid}", "get", False),
        ("/api/sms/outbound/{uid}", "delete", False),
        ("/api/v1/patients/", "get", False),
        ("/api/v1/patients/", "post", True),
        ("/api/v1/patients/{id}/", "put", True),
        ("/api/v1/caregivers/{id}/", "patch", True),
        ("/api/v1/organization-users/{id}/", "delete", False),
    ],
)
def test_endpoint_is_documented_with_shapes(schema, path, method, request_body):
    operation = schema["paths"][path][method]

    assert operation["responses"], operation
    assert ("requestBody" in operation) == request_body
    ok = next(code for code in operation["responses"] if code.startswith("2"))
    if ok != "204":
        assert operation["responses"][ok]["content"]["application/json"]["schema"]


def test_send_response_is_the_biot_shape(schema):
    ref = schema["paths"]["/notification/v1/sms/send"]["post"]["responses"]["200"]["content"]["application/json"]
    name = ref["schema"]["$ref"].rsplit("/", 1)[1]

    assert set(schema["components"]["schemas"][name]["properties"]) == {"messageId"}
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


def test_interactive_docs_are_served(client):
    assert client.get("/api/docs/").status_code == 200


def test_schema_generation_is_warning_free(tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def _component(schema, response):
    return schema["components"]["schemas"][response["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]]


@pytest.mark.parametrize("path", ["/api/v1/plugins/", "/api/v1/plugins/invocations/", "/api/v1/patients/"])
def test_lists_are_documented_as_the_pages_they_answer(schema, path):
    page = _component(schema, schema["paths"][path]["get"]["responses"]["200"])

    assert page["type"] == "object" and {"count", "results"} <= set(page["required"])


def test_a_dose_time_is_documented_as_hours_and_minutes(schema):
    local_time = schema["components"]["schemas"]["DoseSlot"]["properties"]["localTime"]

    assert "format" not in local_time and re.fullmatch(local_time["pattern"], "02:57")


def test_every_operation_is_grouped_under_a_named_tag(schema):
    """Swagger UI groups operations by tag: none falls into the path-derived "api" (or any lowercase) group."""
    untagged = [
        (method, path, operation.get("tags"))
        for path, operations in schema["paths"].items()
        for method, operation in operations.items()
        if isinstance(operation, dict)
        and (len(operation.get("tags") or []) != 1 or not operation["tags"][0][:1].isupper())
    ]

    assert not untagged
    tags = {op["tags"][0] for ops in schema["paths"].values() for op in ops.values() if isinstance(op, dict)}
    assert {"DHIS2", "Keyword commands", "Plugins", "BioT"} <= tags


def test_docs_list_sending_first_and_describe_every_tag(schema):
    declared = [tag["name"] for tag in schema["tags"]]
    used = {tag for operations in schema["paths"].values() for op in operations.values() for tag in op.get("tags", [])}
    assert declared[0] == "BioT"  # Swagger UI lists tags in this order: an integrator starts by sending
    assert used <= set(declared), f"tags without a description: {used - set(declared)}"
    assert all(tag.get("description") for tag in schema["tags"])


def test_within_a_tag_sending_comes_first(schema):
    def first_of(tag):
        return next(
            f"{method.upper()} {path}"
            for path, operations in schema["paths"].items()
            for method, op in operations.items()
            if tag in op.get("tags", [])
        )

    assert first_of("BioT") == "POST /notification/v1/sms/send"
    assert first_of("DHIS2").endswith("/api/sms/outbound")
