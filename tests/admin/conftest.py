"""Two organizations, each with one row of every model the admin shows, and organization A's admin.

B's names carry a marker (`ZQX`) that must never appear on a page A's admin opens.
"""

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission

from entities.models import Organization
from entities.roles import organization_login_create
from entities.tenancy import organization_path
from tests import factories

B_MARKER = "ZQX"

# Model → factory taking `organization=`; the walking test fails for a registered model missing here.
FACTORIES = {
    f._meta.model: f
    for f in (
        factories.PatientFactory,
        factories.OrganizationUserFactory,
        factories.CaregiverFactory,
        factories.ApiKeyFactory,
        factories.ConsentProgramFactory,
        factories.ConsentRecordFactory,
        factories.GatewayFactory,
        factories.GatewayRouteFactory,
        factories.OutboundMessageFactory,
        factories.InboundMessageFactory,
        factories.OptOutFactory,
        factories.KeywordCommandFactory,
        factories.PluginRegistrationFactory,
        factories.PluginInvocationFactory,
        factories.MedicationScheduleFactory,
        factories.DoseSlotFactory,
        factories.DoseConfirmationFactory,
        factories.PatientRosterFactory,
        factories.AuditEntryFactory,
        factories.MessageTemplateFactory,
        factories.FollowUpFactory,
    )
}


def rows_of(organization) -> dict:
    """Every row of every project model that belongs to `organization`: {model: {pk: values}}."""
    found = {}
    for model in apps.get_models():
        path = organization_path(model)
        if path is None or model._meta.proxy:
            continue
        rows = model._default_manager.filter(**{path: organization.pk}).order_by("pk")
        found[model] = {row["pk"]: row for row in (dict(r, pk=r[model._meta.pk.attname]) for r in rows.values())}
    return found


def make(model, organization, **extra):
    """A row of `model` in `organization` (never its default gateway: the fixture made that one)."""
    if any(f.name == "is_default" for f in model._meta.fields):
        extra.setdefault("is_default", False)
    return FACTORIES[model](organization=organization, **extra)


def make_rows(organization, prefix: str) -> None:
    for model in FACTORIES:
        if model._meta.proxy:
            continue
        name_fields = {f.name for f in model._meta.fields}
        extra = {"first_name": f"{prefix}Person"} if "first_name" in name_fields else {}
        if "name" in name_fields:
            extra["name"] = f"{prefix}-{model._meta.model_name}"
        make(model, organization, **extra)
    factories.CaregiverFactory(organization=organization).patients.add(
        factories.PatientFactory(organization=organization, first_name=f"{prefix}Cared")
    )


@pytest.fixture
def org_a(db):
    return factories.OrganizationFactory(name="Alpha Clinic", slug="alpha")


@pytest.fixture
def org_b(db):
    organization = factories.OrganizationFactory(name=f"Bravo Hospital {B_MARKER}", slug="bravo")
    make_rows(organization, f"Bravo{B_MARKER}")
    # A login of B: never offered to A's admin.
    organization_login_create(organization=organization, email=f"bravo.{B_MARKER.lower()}@example.org")
    return organization


@pytest.fixture
def org_a_admin(org_a, org_b):
    """Organization A's admin, with every permission: only the tenancy layer stands between them and B."""
    make_rows(org_a, "Alpha")
    user, _ = organization_login_create(organization=org_a, email="alpha.admin@example.org", role="admin")
    user.user_permissions.set(Permission.objects.all())
    return user


def b_markers(org_b: Organization, rows: dict) -> set[str]:
    """Strings that identify B's rows: B's name, its rows' UUIDs and names, its logins' names."""
    markers = {org_b.name, str(org_b.pk), B_MARKER}
    for model, by_pk in rows.items():
        for pk in by_pk:
            if not isinstance(pk, int):
                markers.add(str(pk))
    return markers
