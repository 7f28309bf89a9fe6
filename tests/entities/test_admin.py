"""The admin: search and filters work, a shared phone number is flagged, staff see only their organization."""

import pytest
from django.contrib.auth.models import Permission, User

from messaging.models import OutboundMessage
from tests.factories import CaregiverFactory, OrganizationUserFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, db):
    user = User.objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(user)
    return client


def test_entity_sharing_a_number_is_flagged_in_the_list_and_the_form(admin_client, organization):
    patient = PatientFactory(organization=organization, phone="+12025550170", first_name="Shared")
    CaregiverFactory(organization=organization, phone="+12025550170")
    alone = PatientFactory(organization=organization, phone="+12025550171", first_name="Alone")

    listing = admin_client.get("/admin/entities/patient/").content.decode()
    form = admin_client.get(f"/admin/entities/patient/{patient.pk}/change/").content.decode()
    alone_form = admin_client.get(f"/admin/entities/patient/{alone.pk}/change/").content.decode()

    assert listing.count("shared with another entity") == 1
    assert "Replies from this number cannot be matched" in form
    assert "Replies from this number cannot be matched" not in alone_form


def test_same_number_in_another_organization_is_not_flagged(admin_client, organization, other_organization):
    patient = PatientFactory(organization=organization, phone="+12025550172")
    PatientFactory(organization=other_organization, phone="+12025550172")

    form = admin_client.get(f"/admin/entities/patient/{patient.pk}/change/").content.decode()

    assert "Replies from this number cannot be matched" not in form


def test_search_and_filters(admin_client, organization):
    PatientFactory(organization=organization, first_name="Grace", last_name="Hopper", phone="+12025550173")
    PatientFactory(organization=organization, first_name="Alan", enabled="DISABLED")

    by_name = admin_client.get("/admin/entities/patient/", {"q": "hopper"}).content.decode()
    by_phone = admin_client.get("/admin/entities/patient/", {"q": "+12025550173"}).content.decode()
    disabled = admin_client.get("/admin/entities/patient/", {"enabled__exact": "DISABLED"}).content.decode()

    assert "Grace" in by_name and "Alan" not in by_name
    assert "Grace" in by_phone
    assert "Alan" in disabled and "Grace" not in disabled


@pytest.mark.parametrize(
    "path",
    ["entities/organization", "entities/organizationuser", "entities/caregiver", "entities/apikey",
     "messaging/outboundmessage", "messaging/optout"],
)  # fmt: skip
def test_admin_pages_render(admin_client, organization, path):
    assert admin_client.get(f"/admin/{path}/").status_code == 200
    assert admin_client.get(f"/admin/{path}/", {"q": "x"}).status_code == 200


def test_staff_see_only_their_organization(client, organization, other_organization):
    staff = User.objects.create_user("nurse", password="pw", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__in=["view_patient", "change_patient"]))
    OrganizationUserFactory(organization=organization, user=staff)
    PatientFactory(organization=organization, first_name="Mine")
    theirs = PatientFactory(organization=other_organization, first_name="Theirs")
    client.force_login(staff)

    listing = client.get("/admin/entities/patient/").content.decode()

    assert "Mine" in listing and "Theirs" not in listing
    assert client.get(f"/admin/entities/patient/{theirs.pk}/change/").status_code in (302, 404)


def test_retry_action_requeues_failed_messages(admin_client, organization, gateway, django_capture_on_commit_callbacks):
    message = OutboundMessage.objects.create(
        organization=organization, recipient="+12025550174", body="Hi", source="portal", gateway=gateway,
        status="failed", error_reason="retries exhausted",
    )  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(
            "/admin/messaging/outboundmessage/", {"action": "retry_failed", "_selected_action": [str(message.pk)]}
        )

    message.refresh_from_db()
    assert message.status == "sent"  # queued again and, in the embedded mode, sent at once
