"""OpenAPI schema hooks."""

from drf_spectacular.plumbing import alpha_operation_sorter

# Within a tag Swagger UI keeps the schema's order: an integrator's first call (sending) comes first.
SENDING_FIRST = ("/notification/v1/sms/send", "/api/sms/outbound")


def operation_order(endpoint) -> tuple:
    """SPECTACULAR_SETTINGS["SORT_OPERATIONS"]: the sending paths first, then alphabetical."""
    path = endpoint[0]
    first = next((i for i, prefix in enumerate(SENDING_FIRST) if path.startswith(prefix)), len(SENDING_FIRST))
    return (first, alpha_operation_sorter(endpoint))


def dhis2_paths_without_slash(result, generator, request, public):
    """DHIS2 routes answer with and without a trailing slash; document them as DHIS2 does, without."""
    paths = result.get("paths", {})
    result["paths"] = {
        (path.rstrip("/") if path.startswith("/api/") and not path.startswith("/api/v1/") else path): item
        for path, item in paths.items()
    }
    return result


def _json(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_HEALTH = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["ok", "unhealthy"]},
        "database": {"type": "string", "enum": ["ok", "down"]},
        "broker": {"type": "string", "description": '"ok", "down" or "eager (no broker)"'},
    },
}
_WEBHOOK = {
    "tags": ["Webhooks"],
    "parameters": [
        {"name": "gateway_uid", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}},
        {"name": "token", "in": "query", "required": False, "schema": {"type": "string"},
         "description": "The gateway's webhook token, for providers that do not sign (docs/gateways.md)."},
    ],
    "requestBody": {
        "description": "The provider's own format (Twilio form fields, Clickatell, BulkSMS or generic HTTP "
        "JSON or form, an AWS SNS notification); docs/gateways.md lists them.",
        "content": {
            "application/x-www-form-urlencoded": {"schema": {"type": "object"}},
            "application/json": {"schema": {"type": "object"}},
        },
    },
    "responses": {
        "200": {"description": "accepted; the provider's expected answer (an empty TwiML `<Response/>` for Twilio)"},
        "403": {"description": "signature or token check failed; nothing stored"},
        "404": {"description": "no active gateway with this uid"},
        "413": {"description": "body over 64 KiB"},
    },
}  # fmt: skip


_JWKS = {"type": "object", "properties": {"keys": {"type": "array", "items": {"type": "object"}}}}


def _operation(operation_id: str, tag: str, description: str, responses: dict, **extra) -> dict:
    return {
        "operationId": operation_id,
        "tags": [tag],
        "description": description,
        "security": [],
        "responses": responses,
        **extra,
    }


def plain_django_endpoints(result, generator, request, public):
    """Endpoints served by plain Django views (not DRF), documented here so the schema covers all."""
    webhook = {k: v for k, v in _WEBHOOK.items() if k != "tags"}
    result.setdefault("paths", {}).update(
        {
            "/healthz": {
                "get": _operation(
                    "healthz",
                    "Operations",
                    "For load balancers: the database and the broker answer.",
                    {"200": _json("healthy", _HEALTH), "503": _json("a dependency is down", _HEALTH)},
                )
            },
            "/.well-known/jwks.json": {
                "get": _operation(
                    "jwks",
                    "Plugins",
                    "The public keys that verify the `jwt` of plugin calls (RS512); old keys until they expire.",
                    {"200": _json("a JSON Web Key Set", _JWKS)},
                )
            },
            "/webhooks/{gateway_uid}/inbound": {
                "post": _operation("webhook_inbound", "Webhooks", "A reply from a phone, from the provider.", **webhook)
            },
            "/webhooks/{gateway_uid}/status": {
                "post": _operation("webhook_status", "Webhooks", "A delivery report, from the provider.", **webhook)
            },
        }
    )
    return result


_ERRORS = {
    "400": "a parameter or field is invalid; `field` names it",
    "401": "no or wrong credentials (`field` is `Authorization`)",
    "404": "no such object in your organization",
    "413": "request body too large",
    "429": "too many failed HTTP Basic logins; retry after `Retry-After` seconds",
    "503": "the database is unavailable; retry after `Retry-After` seconds",
}


def _error_codes(path: str, operation: dict) -> list[str]:
    codes = []
    if "requestBody" in operation or operation.get("parameters"):
        codes.append("400")
    codes.append("401")
    if "{" in path:
        codes.append("404")
    if "requestBody" in operation:
        codes.append("413")
    if any("basicAuth" in requirement for requirement in operation["security"]):
        codes.append("429")
    codes.append("503")
    return codes


def error_responses(result, generator, request, public):
    """Every authenticated operation documents the errors it can answer, in the shape it answers them:
    the BioT-style and entity APIs `ApiError`; the DHIS2-style ones a WebMessage, or `ApiError` when the
    request is refused before their view runs (authentication, an unknown path)."""
    schemas = result.get("components", {}).get("schemas", {})
    api_error = {"$ref": "#/components/schemas/ApiError"}
    dhis2_error = {"anyOf": [{"$ref": "#/components/schemas/WebMessage"}, api_error]}
    assert "ApiError" in schemas and "WebMessage" in schemas, "error components renamed"
    for path, item in result.get("paths", {}).items():
        dhis2 = path.startswith("/api/") and not path.startswith("/api/v1/")
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete") or not operation.get("security"):
                continue
            responses = operation.setdefault("responses", {})
            for code in _error_codes(path, operation):
                responses.setdefault(code, _json(_ERRORS[code], dhis2_error if dhis2 else api_error))
    return result
