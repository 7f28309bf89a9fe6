"""Roles: a new organization admin is one command away, and sees a working admin at once."""

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.test import RequestFactory

from entities.models import OrganizationUser
from entities.roles import ORGANIZATION_ADMIN, PORTAL_STAFF
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def _create(capsys, **options) -> str:
    call_command("create_org_admin", **options)
    return capsys.readouterr().out


def test_groups_exist_after_migrate_with_their_permissions():
    admin_perms = set(Group.objects.get(name=ORGANIZATION_ADMIN).permissions.values_list("codename", flat=True))
    staff_perms = set(Group.objects.get(name=PORTAL_STAFF).permissions.values_list("codename", flat=True))

    assert {
        "add_gateway",
        "change_pluginregistration",
        "add_keywordcommand",
        "add_patient",
        "add_apikey",
    } <= admin_perms
    assert {"change_organization", "view_organization"} <= admin_perms and "add_organization" not in admin_perms
    assert not any(p.endswith("signingkey") or p.endswith("_user") for p in admin_perms)
    assert staff_perms == {p for p in staff_perms if p.startswith("view_")} and "view_patient" in staff_perms


def test_create_org_admin_prints_a_password_that_logs_into_a_working_admin(client, capsys, organization):
    PatientFactory(organization=organization, first_name="Grace")
    out = _create(capsys, org=organization.slug, email="Nurse.Lead@Clinic.example")
    password = out.split("): ")[-1].strip()

    user = authenticate(RequestFactory().post("/admin/login/"), username="nurse.lead@clinic.example", password=password)
    assert user is not None and user.is_staff and not user.is_superuser
    assert OrganizationUser.objects.get(user=user).organization == organization
    client.force_login(user)
    home = client.get("/admin/").content.decode()
    assert "permission to view or edit anything" not in home and "/admin/gateways/gateway/" in home
    assert "Grace" in client.get("/admin/entities/patient/").content.decode()
    assert client.get("/admin/gateways/gateway/add/?type=simulator").status_code == 200


def test_portal_staff_read_people_and_messages_only(client, capsys, organization):
    _create(capsys, org=organization.slug, email="desk@clinic.example", role="staff")
    user = OrganizationUser.objects.get(email="desk@clinic.example").user
    patient = PatientFactory(organization=organization)
    client.force_login(user)

    assert client.get("/admin/entities/patient/").status_code == 200
    assert client.get(f"/admin/entities/patient/{patient.pk}/change/").status_code == 200  # read-only view
    assert client.post(f"/admin/entities/patient/{patient.pk}/change/", {"first_name": "X"}).status_code == 403
    assert client.get("/admin/gateways/gateway/").status_code == 403
    assert client.get("/portal/").status_code in (200, 302)


def test_running_it_again_links_the_existing_login_and_changes_role(capsys, organization):
    _create(capsys, org=organization.slug, email="a@clinic.example")
    out = _create(capsys, org=organization.slug, email="a@clinic.example", role="staff")

    assert "password is unchanged" in out
    user = OrganizationUser.objects.get(email="a@clinic.example").user
    assert list(user.groups.values_list("name", flat=True)) == [PORTAL_STAFF]


def test_a_login_of_another_organization_or_an_unknown_org_is_refused(capsys, organization, other_organization):
    _create(capsys, org=organization.slug, email="a@clinic.example")
    with pytest.raises(CommandError, match="another organization"):
        _create(capsys, org=other_organization.slug, email="a@clinic.example")
    with pytest.raises(CommandError, match="--org"):
        _create(capsys, org="nope", email="b@clinic.example")
    with pytest.raises(CommandError, match="email"):
        _create(capsys, org=organization.slug, email="not-an-email")


def test_seed_demo_prints_the_superuser_and_the_organization_admin(capsys):
    call_command("seed_demo")
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("Demo Org admin login"))
    username, password = line.split("user: ")[1].split("  password: ")

    user = authenticate(RequestFactory().post("/admin/login/"), username=username, password=password)
    assert user is not None and not user.is_superuser and user.groups.filter(name=ORGANIZATION_ADMIN).exists()
    assert "Admin login" in out


def test_an_organization_admin_opens_every_organization_scoped_admin_page(client, capsys, organization):
    """A page the admin scopes to one organization is one its admins use: none may be forbidden
    (message templates and gateway routes once were, for a missing role permission)."""
    from django.contrib import admin

    from entities.tenancy import OrganizationScopedAdmin

    _create(capsys, org=organization.slug, email="lead@clinic.example")
    client.force_login(OrganizationUser.objects.get(email="lead@clinic.example").user)
    scoped = [model for model, page in admin.site._registry.items() if isinstance(page, OrganizationScopedAdmin)]
    home = client.get("/admin/").content.decode()

    forbidden = [m._meta.label for m in scoped if client.get(_changelist(m)).status_code != 200]
    assert forbidden == []
    for model in (m for m in scoped if m._meta.model_name in ("messagetemplate", "gatewayroute")):
        assert _changelist(model) in home  # in the sidebar, where docs/portal.md sends admins


def _changelist(model) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
