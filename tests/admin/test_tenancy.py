"""The tenancy layer's promises that the registry walk does not spell out one by one."""

import pytest
from django.contrib.auth.models import User

from adherence.models import MedicationSchedule
from entities.models import Organization
from entities.roles import organization_login_create
from messaging.models import KeywordCommand
from plugins.models import PluginRegistration
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def org_admin(client, organization):
    user, _ = organization_login_create(organization=organization, email="lead@clinic.example")
    client.force_login(user)
    return user


@pytest.fixture
def root(client):
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))


def test_organization_admin_edits_their_own_organization_settings_only(
    client, org_admin, organization, other_organization
):
    assert client.get("/admin/entities/organization/").status_code == 200
    page = client.get(f"/admin/entities/organization/{organization.pk}/change/")
    assert page.status_code == 200
    assert 'name="timezone"' in page.content.decode() and 'name="slug"' not in page.content.decode()

    response = client.post(
        f"/admin/entities/organization/{organization.pk}/change/",
        {"name": "Clinic A", "timezone": "Europe/Paris", "default_region": "FR", "default_locale": "fr",
         "quiet_hours_start": "21:00", "quiet_hours_end": "08:00",
         "opt_out_keywords": "baja,  Arret", "opt_in_keywords": "", "help_keywords": "ayuda",
         "exempt_daily_limit": "1", "exempt_weekly_limit": "3",
         "slug": "stolen", "parent": str(other_organization.pk)},
    )  # fmt: skip

    assert response.status_code == 302, response.content.decode()[:2000]
    organization.refresh_from_db()
    assert (organization.timezone, organization.default_region, organization.slug) == ("Europe/Paris", "FR", "demo-org")
    assert organization.default_locale == "fr"  # messages to people without a locale (docs/portal.md)
    assert (organization.opt_out_keywords, organization.opt_in_keywords) == (["BAJA", "ARRET"], [])  # typed, not JSON
    assert "BAJA" in organization.keywords("opt_out") and organization.keywords("help") == ["AYUDA"]
    assert organization.parent is None
    assert client.get("/admin/entities/organization/add/").status_code == 403
    assert client.get(f"/admin/entities/organization/{organization.pk}/delete/").status_code == 403
    assert client.get(f"/admin/entities/organization/{other_organization.pk}/change/").status_code == 302
    assert client.get("/admin/plugins/signingkey/").status_code == 403


def test_posting_another_organizations_id_is_a_form_error(client, org_admin, organization, other_organization):
    response = client.post(
        "/admin/messaging/keywordcommand/add/",
        {"organization": str(other_organization.pk), "keyword": "HELLO", "action": "reply", "reply_text": "Hi"},
    )

    assert response.status_code == 200
    assert "organization" in response.context["adminform"].form.errors
    assert not KeywordCommand.objects.exists()

    response = client.post(
        "/admin/messaging/keywordcommand/add/", {"keyword": "HELLO", "action": "reply", "reply_text": "Hi"}
    )
    assert response.status_code == 302
    assert KeywordCommand.objects.get().organization == organization  # forced, never chosen


def test_a_plugin_cannot_be_registered_in_another_organization(client, org_admin, organization, other_organization):
    client.post(
        "/admin/plugins/pluginregistration/add/",
        {"organization": str(other_organization.pk), "name": "spy", "url": "https://spy.example/hook",
         "entity_types": '["patient"]', "actions": '["sms-received"]', "timeout_seconds": 10, "max_attempts": 5},
    )  # fmt: skip

    assert not PluginRegistration.objects.filter(organization=other_organization).exists()


def test_the_login_field_offers_only_the_organizations_own_logins(client, org_admin, organization, other_organization):
    root = User.objects.create_superuser("root", "root@example.org", "pw")
    organization_login_create(organization=other_organization, email="b@other.example")
    lonely = User.objects.create_user("lonely")

    choices = client.get("/admin/entities/organizationuser/add/").context["adminform"].form.fields["user"].queryset

    assert set(choices) == {org_admin}
    assert root not in choices and lonely not in choices


def test_a_superuser_chooses_the_organization_and_related_rows_must_match_it(
    client, root, organization, other_organization
):
    theirs = PatientFactory(organization=other_organization)
    data = {"patient": str(theirs.pk), "medication": "Metformin", "dose_times": "08:00",
            "days_of_week": ["0", "1", "2", "3", "4", "5", "6"], "start_date": "2026-06-01", "timezone": "UTC",
            "reminder_texts": "en: Take {medication}", "confirm_replies": "1",
            "response_window_minutes": 60, "caregiver_alert_text": "Missed", "active": "on"}  # fmt: skip

    no_org = client.post("/admin/adherence/medicationschedule/add/", data)
    wrong = client.post("/admin/adherence/medicationschedule/add/", {**data, "organization": str(organization.pk)})

    assert "organization" in no_org.context["adminform"].form.errors  # no silent default
    assert "patient" in wrong.context["adminform"].form.errors
    assert not MedicationSchedule.objects.exists()


def test_an_organization_admin_types_a_schedule_as_in_the_portal_not_as_json(client, org_admin, organization):
    patient = PatientFactory(organization=organization)
    data = {"patient": str(patient.pk), "medication": "Metformin", "dose_times": "20:00, 08:00",
            "days_of_week": ["0", "2", "4"], "start_date": "2026-06-01", "timezone": "UTC",
            "reminder_texts": "en: Take {medication}\nes_MX: Tome {medication}", "confirm_replies": "1, taken",
            "response_window_minutes": 60, "caregiver_alert_text": "", "follow_up_missed_doses": 3,
            "follow_up_silent_days": 3, "active": "on"}  # fmt: skip

    response = client.post("/admin/adherence/medicationschedule/add/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    schedule = MedicationSchedule.objects.get()
    assert (schedule.dose_times, schedule.days_of_week) == (["08:00", "20:00"], [0, 2, 4])
    assert schedule.reminder_texts == {"en": "Take {medication}", "es-mx": "Tome {medication}"}
    assert schedule.confirm_replies == ["1", "taken"]
    page = client.get(f"/admin/adherence/medicationschedule/{schedule.pk}/change/").content.decode()
    assert 'value="08:00, 20:00"' in page and "[&quot;" not in page  # read back as typed, no JSON


@pytest.mark.parametrize(
    "field,value",
    [("dose_times", "{"), ("dose_times", ""), ("dose_times", "8am, 20:00"), ("days_of_week", "monday"),
     ("days_of_week", []), ("reminder_texts", "Take it"), ("reminder_texts", "en: Take {pill}"),
     ("response_window_minutes", "soon"), ("start_date", "yesterday"), ("patient", "not-a-uuid")],
)  # fmt: skip
def test_bad_input_is_a_form_error_naming_the_field(client, org_admin, organization, field, value):
    patient = PatientFactory(organization=organization)
    data = {"patient": str(patient.pk), "medication": "Metformin", "dose_times": "08:00",
            "days_of_week": ["0", "1"], "start_date": "2026-06-01", "timezone": "UTC",
            "reminder_texts": "en: Take {medication}", "confirm_replies": "1",
            "response_window_minutes": 60, "caregiver_alert_text": "Missed"}  # fmt: skip

    response = client.post("/admin/adherence/medicationschedule/add/", {**data, field: value})

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not MedicationSchedule.objects.exists()
    assert Organization.objects.count() == 1


def test_view_on_site_links_are_a_404_never_a_500_nor_a_sign_that_a_row_exists(client, org_a_admin, org_b):
    from django.contrib.contenttypes.models import ContentType

    from entities.models import Patient

    client.force_login(org_a_admin)
    patient_type = ContentType.objects.get_for_model(Patient).pk
    b_patient = Patient.objects.filter(organization=org_b).first()
    for object_id in ("1", "not-a-uuid", str(b_patient.pk), "00000000-0000-0000-0000-000000000000"):
        assert client.get(f"/admin/r/{patient_type}/{object_id}/").status_code == 404


def test_a_superuser_edits_every_setting_of_an_organization(client, root, organization):
    page = client.get(f"/admin/entities/organization/{organization.pk}/change/").content.decode()

    for field in ("slug", "timezone", "default_locale", "opt_out_keywords", "help_text", "require_two_factor"):
        assert f'name="{field}"' in page, field
