"""The audit trail (issue 11, point 6): who changed what, through the admin, the portal or the API,
secrets masked, each organization's admins seeing only their organization's entries."""

import base64

import pytest
from auditlog.context import set_actor
from django.contrib.auth.models import User
from django.test import Client

from adherence.models import MedicationSchedule
from audit.models import MASK, AuditEntry
from entities.models import ApiKey, Patient
from entities.roles import organization_login_create
from gateways.models import Gateway
from messaging.models import KeywordCommand
from plugins.models import PluginRegistration
from tests.factories import GatewayFactory, OrganizationUserFactory, PatientFactory

pytestmark = pytest.mark.django_db

PATIENT = {"_name": {"firstName": "Ada", "lastName": "Lovelace"}, "_phone": "+12025550150"}


def staff_user(organization, username, *, admin=False) -> User:
    if admin:  # the Organization admin role
        return organization_login_create(organization=organization, email=f"{username}@example.org", username=username)[
            0
        ]
    user = User.objects.create_user(username, password="pw")
    OrganizationUserFactory(organization=organization, user=user)
    return user


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def entries_for(model) -> list[AuditEntry]:
    from django.contrib.contenttypes.models import ContentType

    return list(AuditEntry.objects.filter(content_type=ContentType.objects.get_for_model(model)).order_by("pk"))


def test_an_api_key_change_records_the_key_the_organization_and_the_fields(api_client, api_key, organization):
    created = api_client.post("/api/v1/patients/", PATIENT, format="json")
    api_client.patch(f"/api/v1/patients/{created.json()['_id']}/", {"_name": {"firstName": "Augusta"}}, format="json")
    api_client.delete(f"/api/v1/patients/{created.json()['_id']}/")

    create, update, delete = entries_for(Patient)
    assert [create.action, update.action, delete.action] == [0, 1, 2]
    assert create.api_key_prefix == api_key.split("_")[1] and create.actor is None
    assert create.acted_by.startswith("API key ")
    assert create.organization_id == organization.pk
    assert create.changes["first_name"] == [None, "Ada"]
    assert update.changes["first_name"] == ["Ada", "Augusta"]
    assert "updated_at" not in update.changes


def test_http_basic_changes_record_the_user(organization):
    nurse = staff_user(organization, "nurse")
    auth = "Basic " + base64.b64encode(b"nurse:pw").decode()

    response = Client().post("/api/v1/patients/", PATIENT, content_type="application/json", HTTP_AUTHORIZATION=auth)

    assert response.status_code == 201
    assert entries_for(Patient)[0].actor == nurse


def test_a_portal_change_records_the_staff_member(organization, gateway):
    nurse = staff_user(organization, "nurse")
    patient = PatientFactory(organization=organization)
    data = {
        "medication": "Aspirin",
        "dose_times": "09:00",
        "days_of_week": ["0", "1"],
        "start_date": "2026-02-01",
        "timezone": "UTC",
        "reminder_texts": "en: Take {medication}",
        "confirm_replies": "1",
        "response_window_minutes": "60",
        "caregiver_alert_text": "{patient_first_name} missed {medication}",
        "active": "on",
    }

    assert client_for(nurse).post(f"/portal/patients/{patient.pk}/schedules/new", data).status_code == 302

    (entry,) = entries_for(MedicationSchedule)
    assert entry.actor == nurse and entry.organization_id == organization.pk
    assert entry.changes["medication"] == [None, "Aspirin"]


def test_an_admin_delete_records_the_admin(organization):
    root = User.objects.create_superuser("root", "root@example.org", "pw")
    command = KeywordCommand.objects.create(organization=organization, keyword="REFILL")

    client_for(root).post(
        "/admin/messaging/keywordcommand/",
        {"action": "delete_selected", "_selected_action": [command.pk], "post": "yes"},
    )

    entry = entries_for(KeywordCommand)[-1]
    assert entry.action == AuditEntry.Action.DELETE and entry.actor == root
    assert entry.object_repr == "REFILL"


def test_secrets_are_masked(organization):
    nurse = staff_user(organization, "nurse")
    with set_actor(nurse):
        gateway = GatewayFactory(organization=organization, secrets={"authToken": "tok-very-secret-1"})
        gateway.secrets = {"authToken": "tok-very-secret-2"}
        gateway.save()
        PluginRegistration.objects.create(
            organization=organization, name="p", url="https://example.org/hook", webhook_secret="whsec_very-secret"
        )

    gateway_entries, plugin_entries = entries_for(Gateway), entries_for(PluginRegistration)
    assert gateway_entries[-1].changes["secrets"] == [MASK, MASK]
    for entry in gateway_entries + plugin_entries:
        recorded = f"{entry.changes} {entry.changes_text} {entry.serialized_data} {entry.additional_data}"
        assert "very-secret" not in recorded
    assert plugin_entries[0].changes["webhook_secret"] == [MASK, MASK]


def test_an_organizations_admins_see_only_its_entries(organization, other_organization):
    with set_actor(None):
        PatientFactory(organization=organization, first_name="Ours")
        PatientFactory(organization=other_organization, first_name="Theirs")
    admin = client_for(staff_user(organization, "boss", admin=True))
    root = client_for(User.objects.create_superuser("root", "root@example.org", "pw"))

    listing = admin.get("/admin/audit/auditentry/").content.decode()
    everything = root.get("/admin/audit/auditentry/").content.decode()
    (theirs,) = [entry for entry in entries_for(Patient) if entry.organization_id == other_organization.pk]

    assert "Ours" in listing and "Theirs" not in listing
    assert "Ours" in everything and "Theirs" in everything
    assert admin.get(f"/admin/audit/auditentry/{theirs.pk}/change/").status_code in (302, 404)
    # Staff without the admin role's permission, and anyone trying to edit the trail, get nothing.
    assert client_for(staff_user(organization, "clerk")).get("/admin/audit/auditentry/").status_code in (302, 403)
    assert root.post(f"/admin/audit/auditentry/{theirs.pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(pk=theirs.pk).exists()


def test_the_trail_outlives_a_deleted_organization(other_organization):
    with set_actor(None):
        PatientFactory(organization=other_organization, first_name="Gone")
    gone = other_organization.pk

    other_organization.delete()

    recorded = AuditEntry.objects.filter(organization_id=gone)
    assert recorded.filter(action=AuditEntry.Action.CREATE, object_repr__startswith="Gone").exists()
    assert recorded.filter(action=AuditEntry.Action.DELETE, object_repr__startswith="Gone").exists()


def test_revoking_api_keys_in_the_admin_is_recorded(organization, api_key):
    root = User.objects.create_superuser("root", "root@example.org", "pw")
    key = ApiKey.objects.get()
    client_for(root).post("/admin/entities/apikey/", {"action": "revoke", "_selected_action": [key.pk]})

    entry = entries_for(ApiKey)[-1]
    assert entry.action == AuditEntry.Action.UPDATE and entry.actor == root
    assert entry.changes["revoked_at"][0] is None and entry.changes["revoked_at"][1]
    assert entry.organization_id == organization.pk


def test_changes_to_logins_are_recorded_with_the_password_masked():
    root = User.objects.create_superuser("root", "root@example.org", "pw")
    with set_actor(root):
        clerk = User.objects.create_user("clerk", password="first-password")
        clerk.is_superuser = True
        clerk.set_password("second-password")
        clerk.save()

    entry = entries_for(User)[-1]
    assert entry.actor == root and entry.changes["is_superuser"] == [False, True]
    assert entry.changes["password"] == [MASK, MASK]
    assert "pbkdf2" not in str(entry.changes) and "last_login" not in entry.changes


def test_consent_texts_and_routes_are_in_the_trail_with_their_organization(api_client, api_key, organization):
    """What people agree to and which gateway carries a country's messages are changes an
    organization must be able to account for."""
    from entities.models import ConsentProgram
    from gateways.models import GatewayRoute

    program = {"slug": "reminders", "name": "Reminders", "consentText": "Reply YES for reminders."}
    created = api_client.post("/api/v1/consent-programs/", program, format="json")
    assert created.status_code == 201, created.content
    gateway = GatewayFactory(organization=organization)
    route = api_client.post("/api/gateways/routes", {"prefix": "+254", "gateway": str(gateway.pk)}, format="json")
    assert route.status_code == 200, route.content

    (consent,) = entries_for(ConsentProgram)
    (routed,) = entries_for(GatewayRoute)
    assert (
        consent.changes["consent_text"] == [None, "Reply YES for reminders."] and routed.changes["prefix"][1] == "+254"
    )
    assert {consent.organization_id, routed.organization_id} == {organization.pk}
    assert consent.api_key_prefix == api_key.split("_")[1]
