"""The OpenAPI schema documents the inbound and plugin endpoints."""

import pytest
import yaml

pytestmark = pytest.mark.django_db

DOCUMENTED = {
    "/api/sms/inbound": {"get", "post", "delete"},
    "/api/sms/inbound/{uid}": {"get", "delete"},
    "/api/v1/plugins/": {"get", "post"},
    "/api/v1/plugins/{plugin_id}/": {"get", "put", "patch", "delete"},
    "/api/v1/plugins/invocations/": {"get"},
    "/api/v1/plugins/invocations/{invocation_id}/": {"get"},
    "/api/v1/plugins/invocations/{invocation_id}/retry/": {"post"},
    "/dispatcher/v1/hooks/notifications/subscribe/": {"post"},
    "/dispatcher/v1/hooks/notifications/unsubscribe/": {"post"},
}


def test_inbound_and_plugin_endpoints_are_in_the_schema(client):
    schema = yaml.safe_load(client.get("/api/schema/").content)

    missing = {path: methods - set(schema["paths"].get(path, {})) for path, methods in DOCUMENTED.items()}
    assert not {p: m for p, m in missing.items() if m}
    create = schema["paths"]["/api/v1/plugins/"]["post"]
    assert "requestBody" in create and create["responses"]["201"]["content"]["application/json"]["schema"]
