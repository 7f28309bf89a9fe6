"""OpenAPI (drf-spectacular) description of the API-key and HTTP Basic authentication."""

from drf_spectacular.authentication import BasicScheme
from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "entities.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An organization API key: `Authorization: Bearer sp_<prefix>_<secret>`.",
        }


class AuditedBasicScheme(BasicScheme):
    """HTTP Basic, as the stock class (the subclass only records the audit trail's actor)."""

    target_class = "entities.authentication.AuditedBasicAuthentication"
