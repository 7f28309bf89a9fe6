"""Roles of an organization's staff: two groups kept in sync with this file, and linking a login.

`roles_sync` runs after every `migrate` (entities/apps.py): a permission added to a role here is
granted on the next deploy. Permissions of models that do not exist (yet) are skipped.
"""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from entities.models import Organization, OrganizationUser

ORGANIZATION_ADMIN = "Organization admin"
PORTAL_STAFF = "Portal staff"
ALL = ("view", "add", "change", "delete")
VIEW = ("view",)

ROLES: dict[str, dict[str, tuple[str, ...]]] = {
    ORGANIZATION_ADMIN: {
        "entities.organization": ("view", "change"),  # its own organization's settings only
        "entities.patient": ALL,
        "entities.caregiver": ALL,
        "entities.organizationuser": ALL,
        "entities.apikey": ("view", "add", "change"),
        "entities.consentprogram": ALL,
        "entities.consentrecord": ("view", "add"),  # the ledger is append-only
        "gateways.gateway": ALL,
        "gateways.inboundnumber": ALL,
        "gateways.gatewayroute": ALL,
        "plugins.pluginregistration": ALL,
        "plugins.plugininvocation": ("view", "change"),
        "messaging.keywordcommand": ALL,
        "messaging.messagetemplate": ALL,
        "messaging.outboundmessage": ("view", "change"),
        "messaging.inboundmessage": VIEW,
        "messaging.optout": ALL,
        "adherence.medicationschedule": ALL,
        "adherence.patientroster": ALL,
        "adherence.doseslot": VIEW,
        "adherence.doseconfirmation": VIEW,
        "adherence.followup": VIEW,  # worked on in the portal
        "audit.auditentry": VIEW,  # the organization's audit trail
    },
    PORTAL_STAFF: {
        "entities.patient": VIEW,
        "entities.caregiver": VIEW,
        "entities.organizationuser": VIEW,
        "entities.consentrecord": VIEW,
        "messaging.outboundmessage": VIEW,
        "messaging.inboundmessage": VIEW,
        "adherence.medicationschedule": VIEW,
        "adherence.doseslot": VIEW,
        "adherence.doseconfirmation": VIEW,
    },
}
ROLE_GROUPS = {"admin": ORGANIZATION_ADMIN, "staff": PORTAL_STAFF}


def role_permissions(role: str) -> list[Permission]:
    wanted = {
        (label.split(".")[0], f"{action}_{label.split('.')[1]}")
        for label, actions in ROLES[role].items()
        for action in actions
    }
    apps = {app for app, _ in wanted}
    return [
        p
        for p in Permission.objects.filter(content_type__app_label__in=apps).select_related("content_type")
        if (p.content_type.app_label, p.codename) in wanted
    ]


def roles_sync(**kwargs) -> None:
    """Create the groups and set exactly their permissions (a `post_migrate` receiver)."""
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set(role_permissions(role))


class LoginError(Exception):
    pass


@transaction.atomic
def organization_login_create(
    *,
    organization: Organization,
    email: str,
    role: str = "admin",
    username: str | None = None,
    password: str | None = None,
) -> tuple[object, str | None]:
    """Create or link a staff login of `organization` with `role` ("admin" or "staff").

    Returns the user and its password when the login was created (`password`, else a random one;
    None for an existing login, whose password is left alone).
    A login of another organization is refused.
    """
    if role not in ROLE_GROUPS:
        raise LoginError(f"role must be one of {', '.join(ROLE_GROUPS)}")
    email = email.strip().lower()
    if "@" not in email:
        raise LoginError("email: not an email address")
    User = get_user_model()  # noqa: N806
    user = User.objects.filter(username=username or email).first()
    created_password = None
    if user is None:
        created_password = password or secrets.token_urlsafe(12)
        user = User.objects.create_user(username or email, email, created_password)
    linked = OrganizationUser.objects.filter(user=user).first()
    if linked is not None and linked.organization_id != organization.pk:
        raise LoginError(f"{user.get_username()} is already a login of another organization")
    if linked is None:
        first, _, last = email.split("@")[0].partition(".")
        OrganizationUser.objects.create(
            organization=organization,
            user=user,
            first_name=first.title() or "Staff",
            last_name=last.title(),
            email=email,
            can_login=True,
        )
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    roles_sync()
    user.groups.remove(*Group.objects.filter(name__in=ROLE_GROUPS.values()))
    user.groups.add(Group.objects.get(name=ROLE_GROUPS[role]))
    return user, created_password
