"""The OpenAPI schema and docs page (drf-spectacular): tags in the order an integrator starts, enum names."""

SPECTACULAR_SETTINGS = {
    "TITLE": "smsportal API",
    "DESCRIPTION": "Two-way SMS for healthcare: BioT-style and DHIS2-style APIs.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SORT_OPERATIONS": "smsportal.schema.operation_order",
    "COMPONENT_SPLIT_REQUEST": True,
    # The order the docs page lists them in: sending and receiving first, as an integrator starts.
    "TAGS": [
        {
            "name": "BioT",
            "description": "Send SMS; subscribe a plugin endpoint to actions such as `_incomingSms` (BioT-style).",
        },
        {"name": "DHIS2", "description": "DHIS2's SMS Web API: send, list and delete outbound and inbound messages."},
        {"name": "DHIS2 gateways", "description": "DHIS2-style gateway configuration (secrets never returned)."},
        {"name": "Gateway routes", "description": "Which gateway sends to which numbers, with fallbacks."},
        {"name": "Entities", "description": "Patients, caregivers and organization users, found by phone number."},
        {"name": "Consent", "description": "Consent programs and each person's consent."},
        {"name": "Medication schedules", "description": "Reminders and the doses they confirm."},
        {"name": "Follow-ups", "description": "Patients who missed doses in a row or stopped replying, for staff."},
        {"name": "Keyword commands", "description": "Replies by keyword (besides STOP, START and HELP)."},
        {"name": "Message templates", "description": "The texts smsportal writes itself, by kind and language."},
        {"name": "Plugins", "description": "Plugins, their invocations (retry included) and the keys that sign calls."},
        {"name": "Webhooks", "description": "Providers' inbound and status callbacks (signed by the provider)."},
        {"name": "Operations", "description": "Health checks."},
    ],
    # Swagger UI served from our own static files: a self-hosted install may have no internet.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "smsportal.schema.dhis2_paths_without_slash",
        "smsportal.schema.error_responses",
        "smsportal.schema.plain_django_endpoints",
    ],
    "ENUM_NAME_OVERRIDES": {
        "OutboundStatusEnum": "messaging.models.OutboundMessage.Status",
        "Dhis2OutboundStatusEnum": "messaging.serializers_outbound.DHIS2_STATUS_NAMES",
        "WebMessageStatusEnum": ["OK", "WARNING", "ERROR"],
        "PluginActionEnum": ["_incomingSms", "_smsStatus", "_consentChanged", "_followUpOpened"],  # PluginAction values
        "EntityTypeEnum": "plugins.models.ENTITY_TYPES",
        "KeywordActionEnum": "messaging.models.KeywordCommand.Action",
        "ConsentStatusEnum": ["opted_in", "opted_out", "unknown"],  # entities.models_consent.ConsentStatus
        "TemplateKindEnum": "messaging.message_templates.TemplateKind",
    },
}
