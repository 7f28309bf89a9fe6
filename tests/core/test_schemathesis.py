"""The OpenAPI schema matches what the API answers: schemathesis generates requests for every operation
(valid and invalid ones) and checks each answer — never a 5xx, and every documented status and body
conforms to the schema. Bounded and derandomized, so CI runs it in about two minutes, always the same way.
"""

import base64
import json
import socket

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core import signals
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as examples
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from adherence.models import DoseSlot, MedicationSchedule
from adherence.services import schedule_save
from entities.consent import consent_record
from entities.services import api_key_create
from gateways.models import GatewayRoute
from messaging.models import InboundMessage, MessageTemplate
from plugins.models import PluginInvocation, PluginRegistration
from smsportal.wsgi import application
from tests.factories import (
    CaregiverFactory,
    ConsentProgramFactory,
    FollowUpFactory,
    KeywordCommandFactory,
    OrganizationUserFactory,
    PatientFactory,
)

pytestmark = pytest.mark.django_db(transaction=False)

CHECKS = [schemathesis.checks.not_a_server_error, status_code_conformance, response_schema_conformance]
CONFIG = {
    "generation": {
        "mode": "all",
        "deterministic": True,
        # Credentials come from the fixture; generated ones would only test the 401 path everywhere.
        "with-security-parameters": False,
        "allow-x00": True,  # NUL bytes in text, query and path: a 400, never a database error
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


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Generated URLs (gateways, plugins) name hosts anywhere: none resolves, so none is ever called and
    the answers do not depend on this machine's DNS."""
    real = socket.getaddrinfo

    def loopback_only(host, *args, **kwargs):
        if host in ("127.0.0.1", "localhost", "::1"):
            return real(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "tests resolve loopback names only")

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)


@pytest.fixture
def bearer(organization, gateway):
    return {"Authorization": f"Bearer {api_key_create(organization=organization)[1]}"}


@api_schema.parametrize()
@examples(max_examples=5, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck), database=None)
def test_every_operation_answers_as_documented(case, bearer):
    case.call_and_validate(headers=bearer, checks=CHECKS)


def _post(path, body, headers):
    return api_schema[path]["POST"].Case(body=body, media_type="application/json").call(headers=headers)


@pytest.fixture
def seeded(organization, gateway, bearer):
    """One of everything the API shows, so list and detail answers are checked with content, not empty."""
    patient = PatientFactory(organization=organization)
    caregiver = CaregiverFactory(organization=organization)
    caregiver.patients.add(patient)
    schedule = schedule_save(
        schedule=MedicationSchedule(
            organization=organization,
            patient=patient,
            medication="Metformin",
            dose_times=["08:00", "20:00"],
            start_date=timezone.localdate(),
            timezone="America/New_York",
            reminder_texts={"en": "Take {medication} at {time}."},
        )
    )
    sent = _post("/notification/v1/sms/send", {"message": "Hi", "phoneNumber": str(patient.phone)}, bearer)
    received = _post("/api/sms/inbound", {"originator": str(patient.phone), "text": "1"}, bearer)
    assert sent.status_code == 200 and received.status_code == 200, (sent.content, received.content)
    inbound = InboundMessage.objects.get(organization=organization)
    # Registered after the messages, so no call leaves for its (unreachable) URL.
    plugin = PluginRegistration.objects.create(
        organization=organization, name="meds", url="https://plugins.example.org/sms", actions=["_incomingSms"]
    )
    invocation = PluginInvocation.objects.create(
        organization=organization,
        registration=plugin,
        action="_incomingSms",
        event_key=f"seed:{inbound.pk}",
        inbound_message=inbound,
        attempt_log=[{"at": timezone.now().isoformat(), "statusCode": 500, "error": "boom", "ms": 12}],
    )
    assert DoseSlot.objects.filter(schedule=schedule).exists()
    command = KeywordCommandFactory(organization=organization, keyword="HOURS")
    staff = OrganizationUserFactory(organization=organization)
    program = ConsentProgramFactory(organization=organization)
    for person in (patient, caregiver, staff):
        consent_record(
            organization=organization, person=person, program=program, status="opted_in", source="api", text="Yes"
        )
    return {
        "/api/v1/patients/{id}/": {"id": patient.pk},
        "/api/v1/caregivers/{id}/": {"id": caregiver.pk},
        "/api/v1/organization-users/{id}/": {"id": staff.pk},
        "/api/v1/patients/{id}/consent/": {"id": patient.pk},
        "/api/v1/caregivers/{id}/consent/": {"id": caregiver.pk},
        "/api/v1/organization-users/{id}/consent/": {"id": staff.pk},
        "/api/v1/consent-programs/{slug}/": {"slug": program.slug},
        "/api/v1/medication-schedules/{id}/": {"id": schedule.pk},
        "/api/v1/medication-schedules/{id}/doses/": {"id": schedule.pk},
        "/api/v1/follow-ups/{id}/": {"id": FollowUpFactory(organization=organization, patient=patient).pk},
        "/api/v1/plugins/{plugin_id}/": {"plugin_id": plugin.pk},
        "/api/v1/plugins/invocations/{invocation_id}/": {"invocation_id": invocation.pk},
        "/api/sms/outbound/{uid}": {"uid": sent.json()["messageId"]},
        "/api/sms/inbound/{uid}": {"uid": inbound.pk},
        "/api/gateways/{uid}": {"uid": gateway.pk},
        "/api/gateways/{route}": {"route": "simulator"},
        "/api/v1/keyword-commands/{id}/": {"id": command.pk},
        "/api/v1/message-templates/{id}/": {
            "id": MessageTemplate.objects.create(organization=organization, kind="help", locale="es", text="Ayuda").pk
        },
        "/api/gateways/routes/{route_id}": {
            "route_id": GatewayRoute.objects.create(organization=organization, prefix="+1", gateway=gateway).pk
        },
    }


@pytest.fixture(params=["apiKey", "basicAuth", "cookieAuth"])
def credentials(request, organization, bearer, settings):
    """Each security scheme the schema declares: headers and cookies acting for the organization."""
    if request.param == "apiKey":
        return {"headers": bearer}
    # HTTP Basic checks the password on every request: a fast hasher keeps the test about the schema.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    user = User.objects.create_user("staff", password="a-long-test-password")
    OrganizationUserFactory(organization=organization, user=user)
    if request.param == "basicAuth":
        token = base64.b64encode(b"staff:a-long-test-password").decode()
        return {"headers": {"Authorization": f"Basic {token}"}}
    client = Client()
    client.force_login(user)
    return {"cookies": {"sessionid": client.cookies["sessionid"].value}}


# Every field, where the client chooses them (DHIS2's `fields`).
ALL_FIELDS = {"/api/sms/inbound": {"fields": "*"}, "/api/sms/outbound": {"fields": "*"}}


def test_every_read_with_content_answers_as_documented(seeded, credentials):
    checked, failures = [], []
    for path, methods in api_schema.raw_schema["paths"].items():
        if "get" not in methods or path.startswith("/webhooks/"):
            continue
        if "{" in path and path not in seeded:
            pytest.fail(f"no seeded object for {path}: add one to the `seeded` fixture")
        parameters = {name: str(value) for name, value in seeded.get(path, {}).items()}
        case = api_schema[path]["GET"].Case(path_parameters=parameters or None, query=ALL_FIELDS.get(path))
        try:
            response = case.call_and_validate(checks=CHECKS, **credentials)
        except FailureGroup as exc:  # report every path's failures, not the first one's
            failures.append(f"GET {path}: {exc}")
            continue
        if response.status_code != 200:
            failures.append(f"GET {path}: {response.status_code} {response.text[:200]}")
        checked.append(path)
    assert not failures, "\n\n".join(failures)
    assert len(checked) >= 20, checked
