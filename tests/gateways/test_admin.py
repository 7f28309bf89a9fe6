"""Gateway admin: a form per type, secrets never rendered and kept when blank, actions."""

import pytest
from django.contrib.auth.models import User

from gateways.models import Gateway
from gateways.providers import ADAPTERS
from messaging.models import OutboundMessage
from tests.factories import GatewayFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = User.objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(user)
    return client


def test_add_asks_for_the_type_first_then_shows_that_types_fields(admin_client):
    chooser = admin_client.get("/admin/gateways/gateway/add/")
    form = admin_client.get("/admin/gateways/gateway/add/?type=twilio")

    assert chooser.status_code == 200 and b"?type=clickatell" in chooser.content
    assert form.status_code == 200
    assert b'name="cfg_accountSid"' in form.content and b'name="secret_authToken"' in form.content
    assert b'name="cfg_configurationTemplate"' not in form.content


def test_the_type_chooser_lists_providers_in_alphabetical_order(admin_client):
    from django.utils.html import escape

    from gateways.models import Gateway
    from gateways.providers import ADAPTERS

    page = admin_client.get("/admin/gateways/gateway/add/").content.decode()

    labels = sorted((escape(a.label) for a in ADAPTERS.values()), key=str.casefold)
    assert sorted(labels, key=page.index) == labels
    assert len(labels) == len(list(Gateway._meta.get_field("type").choices))


def test_create_then_edit_never_renders_the_secret_and_blank_keeps_it(admin_client, organization):
    data = {
        "organization": organization.pk,
        "name": "Twilio main",
        "is_active": "on",
        "cfg_accountSid": "AC1",
        "cfg_from": "+12025550100",
        "secret_authToken": "super-secret-token",
        "inbound_numbers_text": "+12025550100",
    }
    response = admin_client.post("/admin/gateways/gateway/add/?type=twilio", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    gateway = Gateway.objects.get(name="Twilio main")
    assert gateway.secrets["authToken"] == "super-secret-token" and gateway.is_default
    assert gateway.webhook_tokens()

    page = admin_client.get(f"/admin/gateways/gateway/{gateway.pk}/change/")
    assert b"super-secret-token" not in page.content
    assert b"Set (hidden)" in page.content
    assert f"/webhooks/{gateway.pk}/inbound".encode() in page.content

    response = admin_client.post(
        f"/admin/gateways/gateway/{gateway.pk}/change/", {**data, "name": "Renamed", "secret_authToken": ""}
    )
    assert response.status_code == 302
    gateway.refresh_from_db()
    assert gateway.name == "Renamed" and gateway.secrets["authToken"] == "super-secret-token"
    assert [str(n.number) for n in gateway.inbound_numbers.all()] == ["+12025550100"]


def test_invalid_config_shows_the_error_on_the_field(admin_client, organization, settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = False
    response = admin_client.post(
        "/admin/gateways/gateway/add/?type=http",
        {"organization": organization.pk, "name": "g", "cfg_urlTemplate": "http://127.0.0.1/send"},
    )

    assert response.status_code == 200
    assert b"private" in response.content
    assert not Gateway.objects.filter(name="g").exists()


@pytest.mark.parametrize("field", ["rate_limit_per_second", "sender_rate_limit_per_second"])
@pytest.mark.parametrize("rate", ["-5", "0", "100001"])
def test_a_rate_limit_that_is_not_a_rate_is_refused_on_its_field(admin_client, organization, field, rate):
    gateway = GatewayFactory(organization=organization, name="sim", type="simulator")
    form = {"organization": organization.pk, "name": "sim", "max_attempts": "3", field: rate}

    response = admin_client.post(f"/admin/gateways/gateway/{gateway.pk}/change/", form)

    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    gateway.refresh_from_db()
    assert getattr(gateway, field) is None


@pytest.mark.parametrize("global_gateways", [False, True], ids=["organization", "global"])
def test_make_default_action_leaves_one_default(admin_client, organization, global_gateways):
    """Global gateways (no organization) serve organizations without their own: one default too."""
    from django.db import IntegrityError, transaction

    owner = None if global_gateways else organization
    first = GatewayFactory(organization=owner, is_default=True)
    second = GatewayFactory(organization=owner, is_default=False)

    admin_client.post("/admin/gateways/gateway/", {"action": "make_default", "_selected_action": [second.pk]})

    first.refresh_from_db()
    second.refresh_from_db()
    assert second.is_default and not first.is_default
    with pytest.raises(IntegrityError), transaction.atomic():
        GatewayFactory(organization=owner, is_default=True)


def test_send_test_sms_action_asks_for_a_number_then_sends_through_that_gateway(admin_client, organization):
    gateway = GatewayFactory(organization=organization)

    form = admin_client.post("/admin/gateways/gateway/", {"action": "send_test_sms", "_selected_action": [gateway.pk]})
    sent = admin_client.post(
        "/admin/gateways/gateway/",
        {"action": "send_test_sms", "_selected_action": [gateway.pk], "apply": "1", "recipient": "+12025550101"},
    )

    assert form.status_code == 200 and b'name="recipient"' in form.content
    assert sent.status_code == 302
    message = OutboundMessage.objects.get()
    assert message.gateway_id == gateway.pk and message.recipient == "+12025550101"


def test_webhook_token_rotation_keeps_two_valid_then_retires_the_old(admin_client, organization):
    gateway = GatewayFactory(organization=organization, secrets={"webhookTokens": ["t1"]})

    admin_client.post("/admin/gateways/gateway/", {"action": "rotate_webhook_token", "_selected_action": [gateway.pk]})
    gateway.refresh_from_db()
    new, old = gateway.webhook_tokens()
    admin_client.post(
        "/admin/gateways/gateway/", {"action": "retire_previous_webhook_token", "_selected_action": [gateway.pk]}
    )
    gateway.refresh_from_db()

    assert old == "t1" and new != "t1"
    assert gateway.webhook_tokens() == [new]


def test_staff_of_an_organization_see_only_its_gateways(client, organization, other_organization):
    from django.contrib.auth.models import Permission

    from entities.models import OrganizationUser

    user = User.objects.create_user("staff", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_gateway", "change_gateway"]))
    OrganizationUser.objects.create(organization=organization, first_name="S", user=user)
    mine = GatewayFactory(organization=organization, name="mine")
    theirs = GatewayFactory(organization=other_organization, name="theirs")
    client.force_login(user)

    listing = client.get("/admin/gateways/gateway/")

    assert b"mine" in listing.content and b"theirs" not in listing.content
    assert client.get(f"/admin/gateways/gateway/{theirs.pk}/change/").status_code in (302, 404)
    assert client.get(f"/admin/gateways/gateway/{mine.pk}/change/").status_code == 200


def _staff(organization, codenames=("view_gateway", "change_gateway", "add_gateway")):
    from django.contrib.auth.models import Permission

    from entities.models import OrganizationUser

    user = User.objects.create_user(f"staff-{organization.pk}", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    OrganizationUser.objects.create(organization=organization, first_name="S", user=user)
    return user


TWILIO_FORM = {"name": "tw", "is_active": "on", "cfg_accountSid": "AC1", "cfg_from": "+12025550100"}


def test_superuser_must_choose_an_organization_or_the_labelled_global_option(admin_client, organization):
    form = admin_client.get("/admin/gateways/gateway/add/?type=twilio").content.decode()
    untouched = admin_client.post(
        "/admin/gateways/gateway/add/?type=twilio", {**TWILIO_FORM, "secret_authToken": "t", "organization": ""}
    )

    assert "used by every organization that has no gateway of its own" in form
    assert untouched.status_code == 200 and "Choose an organization" in untouched.content.decode()
    assert not Gateway.objects.exists()

    chosen = admin_client.post(
        "/admin/gateways/gateway/add/?type=twilio", {**TWILIO_FORM, "secret_authToken": "t", "organization": "global"}
    )
    assert chosen.status_code == 302
    gateway = Gateway.objects.get()
    assert gateway.organization_id is None and gateway.is_default
    page = admin_client.get(f"/admin/gateways/gateway/{gateway.pk}/change/").content.decode()
    assert '<option value="global" selected>' in page


def test_staff_gateways_always_belong_to_their_organization(client, organization, other_organization):
    theirs = GatewayFactory(organization=other_organization, name="their-gateway")
    client.force_login(_staff(organization))

    form = client.get("/admin/gateways/gateway/add/?type=twilio").content.decode()
    response = client.post(
        "/admin/gateways/gateway/add/?type=twilio",
        {**TWILIO_FORM, "secret_authToken": "t", "organization": "global"},
    )

    assert 'name="organization"' not in form and "their-gateway" not in form  # no choice, no foreign fallback
    assert response.status_code == 302, response.content.decode()[:2000]
    gateway = Gateway.objects.get(name="tw")
    assert gateway.organization == organization and gateway.is_default
    theirs.refresh_from_db()
    assert theirs.is_default


def test_staff_without_an_organization_cannot_add_a_gateway(client):
    from django.contrib.auth.models import Permission

    user = User.objects.create_user("loose", password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_gateway", "add_gateway"]))
    client.force_login(user)

    assert client.get("/admin/gateways/gateway/add/?type=twilio").status_code == 403


def test_an_empty_twilio_form_flags_every_missing_field(admin_client, organization):
    response = admin_client.post("/admin/gateways/gateway/add/?type=twilio", {"organization": organization.pk})

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert {"name", "cfg_from", "cfg_accountSid", "secret_authToken"} <= set(errors)
    assert not Gateway.objects.exists()


@pytest.mark.parametrize(
    "type_, fields, field",
    [
        ("twilio", {"cfg_accountSid": "AC1", "secret_authToken": "t", "cfg_from": "not-a-number"}, "cfg_from"),
        (
            "http",
            {"cfg_urlTemplate": "https://sms.example.com/", "cfg_configurationTemplate": "${nope}"},
            "cfg_configurationTemplate",
        ),
        ("sns", {"cfg_region": "mars-1"}, "cfg_region"),
    ],
)
def test_admin_refuses_what_the_api_refuses(admin_client, organization, settings, type_, fields, field):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True  # sms.example.com does not resolve offline
    response = admin_client.post(
        f"/admin/gateways/gateway/add/?type={type_}", {"organization": organization.pk, "name": "g", **fields}
    )

    assert response.status_code == 200
    assert set(response.context["adminform"].form.errors) == {field}
    assert not Gateway.objects.exists()


def test_forms_use_human_labels_and_dropdowns_and_the_chooser_has_breadcrumbs(admin_client):
    chooser = admin_client.get("/admin/gateways/gateway/add/").content.decode()
    http = admin_client.get("/admin/gateways/gateway/add/?type=http").content.decode()
    twilio = admin_client.get("/admin/gateways/gateway/add/?type=twilio").content.decode()

    assert 'href="/admin/gateways/gateway/"' in chooser and 'href="/admin/gateways/"' in chooser
    assert '<select name="cfg_method"' in http and '<select name="cfg_contentType"' in http
    assert '<option value="APPLICATION_JSON">' in http
    assert ">Account SID</label>" in twilio and "API field: accountSid" in twilio
    assert ">accountSid</label>" not in twilio


def test_saving_an_inbound_number_where_receiving_is_unlisted_warns(admin_client, organization):
    from gateways.receive_countries import inbound_number_warning

    response = admin_client.post(
        "/admin/gateways/gateway/add/?type=twilio",
        {
            **TWILIO_FORM,
            "organization": organization.pk,
            "secret_authToken": "t",
            "inbound_numbers_text": "+254711000111",
        },
        follow=True,
    )

    shown = [str(m) for m in response.context["messages"]]
    assert inbound_number_warning("KE") in shown
    numbers = Gateway.objects.get(name="tw").inbound_numbers.all()
    assert {(str(n.number), n.country) for n in numbers} == {("+254711000111", "KE"), ("+12025550100", "US")}


def test_a_listed_country_gives_no_warning(admin_client, organization):
    response = admin_client.post(
        "/admin/gateways/gateway/add/?type=twilio",
        {
            **TWILIO_FORM,
            "organization": organization.pk,
            "secret_authToken": "t",
            "inbound_numbers_text": "+12025550100",
        },
        follow=True,
    )

    assert not [m for m in response.context["messages"] if m.level_tag == "warning"]


@pytest.mark.parametrize("type_", list(ADAPTERS))
def test_every_type_add_form_renders_with_the_organization_choice(admin_client, organization, type_):
    page = admin_client.get(f"/admin/gateways/gateway/add/?type={type_}")

    assert page.status_code == 200
    assert f'<option value="{organization.pk}">Demo Org</option>' in page.content.decode()
