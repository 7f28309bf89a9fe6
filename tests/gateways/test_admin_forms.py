"""Gateway admin forms are built from each adapter's settings declaration; bad input never a 500."""

import pytest

from gateways.forms import form_field_name
from gateways.models import Gateway
from gateways.providers import ADAPTERS
from tests.factories import GatewayFactory

pytestmark = pytest.mark.django_db
TYPES = list(ADAPTERS)
COMMON = {"organization", "name", "is_active", "make_default", "fallback", "rate_limit_per_second"}
COMMON |= {"sender_rate_limit_per_second"}
COMMON |= {"max_sms_length", "inbound_numbers_text"}


def _form(admin_client, type_):
    return admin_client.get(f"/admin/gateways/gateway/add/?type={type_}").context["adminform"].form


@pytest.mark.parametrize("type_", TYPES)
def test_each_type_shows_exactly_the_fields_its_adapter_declares(admin_client, type_):
    form = _form(admin_client, type_)

    declared = {form_field_name(s) for s in ADAPTERS[type_].config_spec.shown()}
    assert set(form.fields) - COMMON == declared


def test_clickatell_shows_only_what_clickatell_uses_with_clickatell_help(admin_client):
    page = admin_client.get("/admin/gateways/gateway/add/?type=clickatell").content.decode()
    form = _form(admin_client, "clickatell")

    assert not {"cfg_username", "secret_password", "cfg_sendUrlParameters"} & set(form.fields)
    assert "Clickatell" in form.fields["secret_authToken"].help_text
    assert "Twilio" not in page


def test_the_simulator_form_has_no_empty_settings_section(admin_client):
    page = admin_client.get("/admin/gateways/gateway/add/?type=simulator").content.decode()

    assert "Simulator account" not in page and "Advanced" not in page
    assert "Delivery reports" in page and "Numbers that cannot be reached" in page


def test_the_webhook_urls_are_shown_with_a_copy_button(admin_client, organization, settings):
    settings.SMSPORTAL_PUBLIC_BASE_URL = "http://127.0.0.1:8000"
    gateway = GatewayFactory(
        organization=organization, type="twilio", config={"accountSid": "AC1", "from": "+12025550100"}
    )
    gateway.ensure_webhook_token()
    gateway.save()

    page = admin_client.get(f"/admin/gateways/gateway/{gateway.pk}/change/").content.decode()

    for kind in ("inbound", "status"):
        assert f'data-copy="http://127.0.0.1:8000/webhooks/{gateway.pk}/{kind}' in page
    assert page.count("smsportal-copy-button") == 2 and "Phone Numbers" in page  # where to paste them


# Wrong types and junk for every kind of setting.
JUNK = {"str": "x" * 2001, "text": "${unknown}", "url": "ftp://", "bool": "maybe", "int": "many"}
JUNK |= {"list": "x" * 2001, "dict": "{not json", "parameters": '[{"key": ""}]'}


@pytest.mark.parametrize("type_", TYPES)
def test_junk_in_every_field_is_a_form_error_and_nothing_is_saved(admin_client, organization, type_):
    data = {"organization": organization.pk, "name": "junk", "rate_limit_per_second": "fast", "max_sms_length": "-1"}
    for setting in ADAPTERS[type_].config_spec.shown():
        data[form_field_name(setting)] = JUNK[setting.kind] if not setting.choices else "NOPE"

    response = admin_client.post(f"/admin/gateways/gateway/add/?type={type_}", data)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert {"rate_limit_per_second", "max_sms_length"} <= set(errors)
    assert not Gateway.objects.exists()


@pytest.mark.parametrize("value", ["[]", "{}", "", "null", "[1]", '{"a": 1}'])
def test_empty_or_wrong_json_is_an_error_on_its_field_or_accepted_as_empty(admin_client, organization, settings, value):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True  # sms.example.com does not resolve offline
    data = {"organization": organization.pk, "name": "h", "cfg_urlTemplate": "https://sms.example.com/send"}

    response = admin_client.post(
        "/admin/gateways/gateway/add/?type=http", {**data, "cfg_statusMap": value, "cfg_parameters": value}
    )

    assert response.status_code in (200, 302)
    if response.status_code == 200:
        assert set(response.context["adminform"].form.errors) <= {"cfg_statusMap", "cfg_parameters"}
        assert not Gateway.objects.exists()


@pytest.mark.parametrize("type_", TYPES)
def test_a_superusers_add_form_preselects_no_organization_and_never_the_global_gateway(
    admin_client, organization, type_
):
    page = admin_client.get(f"/admin/gateways/gateway/add/?type={type_}").content.decode()

    assert '<option value="" selected>— choose —</option>' in page
    assert '<option value="global" selected>' not in page


def test_a_providers_declaration_is_its_form_and_its_validation(monkeypatch, organization):
    """A new provider brings its form with it: nothing but the adapter's `config_spec` is needed."""
    from gateways.forms import GatewayForm, gateway_fieldsets
    from gateways.providers.settings import ProviderSettings, Setting

    spec = ProviderSettings(
        (
            Setting("apiKey", "API key", "From the provider's console.", secret=True, required=True),
            Setting("region", "Region", "Where the account lives.", section="Where"),
        ),
        description="A provider that does not exist yet.",
    )
    monkeypatch.setattr(ADAPTERS["simulator"], "config_spec", spec)
    form_class = GatewayForm.for_type("simulator")

    form = form_class(data={"organization": organization.pk, "name": "new", "cfg_region": "eu"})

    assert {"secret_apiKey", "cfg_region"} <= set(form_class.base_fields)
    assert "From the provider's console." in form_class.base_fields["secret_apiKey"].help_text
    assert not form.is_valid() and "apiKey is required" in form.errors["secret_apiKey"][0]
    titles = [title for title, _ in gateway_fieldsets("simulator", with_organization=True, existing=False)]
    assert titles == [None, "Simulator account", "Where", "Routing"]
