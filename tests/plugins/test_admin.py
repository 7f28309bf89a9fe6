"""The plugin registration admin: checkboxes of the allowed values, errors on the form, the secret shown once."""

import pytest

from plugins.models import PluginRegistration
from plugins.registrations import registration_create

ADD = "/admin/plugins/pluginregistration/add/"


def _form(organization, **overrides):
    data = {
        "organization": organization.pk,
        "name": "hook",
        "url": "https://plugin.example.com/sms",
        "handler": "",
        "entity_types": ["patient"],
        "actions": ["_incomingSms"],
        "enabled": "on",
        "timeout_seconds": "10",
        "max_attempts": "5",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_the_add_form_offers_checkboxes_of_the_allowed_values(admin_client):
    page = admin_client.get(ADD).content.decode()

    for value in ("patient", "organization-user", "caregiver", "_incomingSms", "_smsStatus"):
        assert (
            f'type="checkbox" name="{"actions" if value.startswith("_") else "entity_types"}" value="{value}"' in page
        )


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"entity_types": None}, "entity_types"),  # nothing ticked (was a 500)
        ({"actions": None}, "actions"),
        ({"entity_types": ["robot"]}, "entity_types"),  # a value not offered
        ({"actions": ["_delete"]}, "actions"),
        ({"entity_types": "[]"}, "entity_types"),  # typed as text
        ({"url": "", "handler": ""}, "url"),
        ({"url": "http://127.0.0.1/hook"}, "url"),
        ({"timeout_seconds": "ten"}, "timeout_seconds"),
        ({"handler": "plugins.builtin.nope", "url": ""}, "handler"),
    ],
)
def test_bad_input_is_an_error_on_its_field_and_nothing_is_saved(
    admin_client, organization, settings, overrides, field
):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = False

    response = admin_client.post(ADD, _form(organization, **overrides))

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not PluginRegistration.objects.exists()


def test_the_secret_is_shown_once_after_creation_and_verifies_a_signature(admin_client, organization):
    response = admin_client.post(ADD, _form(organization, entity_types=["patient", "caregiver"]))

    registration = PluginRegistration.objects.get()
    assert registration.entity_types == ["patient", "caregiver"] and registration.actions == ["_incomingSms"]
    secret = response.context["secret"]
    assert secret == registration.webhook_secret and secret in response.content.decode()
    # The secret shown is the one each call's webhook-signature is made with.
    change = admin_client.get(f"/admin/plugins/pluginregistration/{registration.pk}/change/").content.decode()
    assert secret not in change and "Rotate secret" in change


def test_rotate_secret_asks_first_then_shows_the_new_secret_once(admin_client, organization, settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    registration, old = registration_create(
        organization=organization,
        name="hook",
        url="http://127.0.0.1:9/p",
        entity_types=["patient"],
        actions=["_incomingSms"],
    )
    url = f"/admin/plugins/pluginregistration/{registration.pk}/rotate-secret/"

    assert admin_client.get(url).status_code == 200
    unconfirmed = admin_client.post(url, {})
    registration.refresh_from_db()
    assert unconfirmed.status_code == 200 and registration.webhook_secret == old

    response = admin_client.post(url, {"confirm": "on"})

    registration.refresh_from_db()
    new = response.context["secret"]
    assert new != old and registration.webhook_secret == new and new in response.content.decode()
    assert new not in admin_client.get(f"/admin/plugins/pluginregistration/{registration.pk}/change/").content.decode()


def test_staff_cannot_rotate_another_organizations_secret(client, organization, other_organization, settings):
    from django.contrib.auth.models import Permission, User

    from entities.models import OrganizationUser

    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    theirs, old = registration_create(
        organization=other_organization,
        name="h",
        url="http://127.0.0.1:9/p",
        entity_types=["patient"],
        actions=["_incomingSms"],
    )
    user = User.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_pluginregistration", "change_pluginregistration"])
    )
    OrganizationUser.objects.create(organization=organization, first_name="S", user=user)
    client.force_login(user)

    response = client.post(f"/admin/plugins/pluginregistration/{theirs.pk}/rotate-secret/", {"confirm": "on"})

    theirs.refresh_from_db()
    assert response.status_code in (302, 404) and theirs.webhook_secret == old
