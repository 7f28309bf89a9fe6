"""The OpenAPI schema matches what the API answers: schemathesis generates requests for every operation
(valid and invalid ones) and checks each answer — never a 5xx, and every documented status and body
conforms to the schema. Bounded and derandomized, so CI runs it in about two minutes, always the same way.
"""

import json

import pytest
import schemathesis
from django.core import signals
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from entities.services import api_key_create
from smsportal.wsgi import application

pytestmark = pytest.mark.django_db(transaction=False)

CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance, response_schema_conformance]
CONFIG = {
    "generation": {
        "mode": "all",
        "deterministic": True,
        # Credentials come from the fixture; generated ones would only test the 401 path everywhere.
        "with-security-parameters": False,
        # NUL bytes in text are hostile input handled apart (the database layer's own check).
        "allow-x00": False,
    },
    "phases": {"stateful": {"enabled": False}},
}


def _load_schema():
    """The schema as /api/schema/ serves it, generated at collection time (no request, no database)."""
    from drf_spectacular.generators import SchemaGenerator

    document = SchemaGenerator().get_schema(request=None, public=True)
    schema = schemathesis.openapi.from_dict(
        json.loads(json.dumps(document, cls=DjangoJSONEncoder)), config=SchemathesisConfig.from_dict(CONFIG)
    )
    schema.app = application
    return schema


api_schema = _load_schema()


@pytest.fixture(autouse=True)
def _requests_keep_the_test_connection():
    # As Django's test client does: requests served in-process must not close the test's connection.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def bearer(organization, gateway):
    return {"Authorization": f"Bearer {api_key_create(organization=organization)[1]}"}


@api_schema.parametrize()
@settings(max_examples=5, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)
def test_every_operation_answers_as_documented(case, bearer):
    case.call_and_validate(headers=bearer, checks=CHECKS)
