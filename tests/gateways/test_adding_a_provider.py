"""Adding a provider is one adapter module: everything else in gateways/ derives from its declaration
(docs/architecture.md, "Adding a provider"). A throwaway adapter, registered for one test, appears in
the API's validation and typed routes, the admin's type list and form, the model's choices, the
webhook URLs and the numbers replies come back to."""

from collections.abc import Sequence

import pytest

from gateways.exceptions import ConfigError
from gateways.models import Gateway
from gateways.providers import ADAPTERS, register, unregister
from gateways.providers.base import OutboundSms, ProviderAdapter, SendResult
from gateways.providers.settings import ProviderSettings, Setting
from gateways.services import gateway_own_numbers
from gateways.webhook_url import gateway_webhook_url

pytestmark = pytest.mark.django_db


def _region_rule(config: dict, secrets: dict, failed: set) -> None:
    if config.get("region") not in (None, "eu", "us"):
        raise ConfigError("region must be eu or us", field="region")


class PigeonAdapter(ProviderAdapter):
    type = "pigeon"
    label = "Carrier Pigeon"
    routes = ("pigeonpost",)
    signed_webhooks = True
    config_spec = ProviderSettings(
        (
            Setting("apiKey", "API key", "From the loft's console.", secret=True, required=True),
            Setting("from", "Sender", "The loft's number."),
            Setting("region", "Region", "Where the loft is.", section="Loft"),
        ),
        description="Messages by bird.",
        rules=(_region_rule,),
    )

    @classmethod
    def own_numbers(cls, config) -> list[str]:
        return [config["from"]] if config.get("from") else []

    def send_batch(self, messages: Sequence[OutboundSms]) -> list[SendResult]:
        return [SendResult(reference=m.reference, accepted=True, provider_message_id="p1") for m in messages]


@pytest.fixture
def pigeon():
    register(PigeonAdapter)
    yield PigeonAdapter
    unregister(PigeonAdapter.type)


def test_the_api_validates_by_the_adapters_declaration_and_answers_on_its_typed_routes(api_client, pigeon):
    missing = api_client.post("/api/gateways", {"type": "pigeon", "name": "loft"}, format="json")
    bad_rule = api_client.post(
        "/api/gateways/pigeonpost", {"name": "loft", "apiKey": "k", "region": "mars"}, format="json"
    )
    created = api_client.post(
        "/api/26/gateways/pigeonpost", {"name": "loft", "apiKey": "k", "from": "+12025550100"}, format="json"
    )

    assert missing.status_code == 400 and missing.json()["response"]["field"] == "apiKey"
    assert bad_rule.status_code == 400 and bad_rule.json()["response"]["field"] == "region"
    assert created.status_code == 200  # DHIS2 answers a create with 200 and a WebMessage
    gateway = Gateway.objects.get(name="loft")
    assert gateway.type == "pigeon" and gateway.secrets["apiKey"] == "k"
    listed = api_client.get("/api/gateways/pigeon").json()
    assert [g["uid"] for g in listed["gateways"]] == [gateway.uid]
    renamed = api_client.put(f"/api/gateways/pigeon/{gateway.uid}", {"name": "loft 2"}, format="json")
    assert renamed.status_code == 200 and Gateway.objects.get(pk=gateway.pk).name == "loft 2"
    assert gateway.get_type_display() == "Carrier Pigeon"
    Gateway.objects.get(pk=gateway.pk).full_clean()  # "pigeon" is one of the model's choices


def test_the_admin_lists_the_provider_and_builds_its_form(admin_client, organization, pigeon):
    chooser = admin_client.get("/admin/gateways/gateway/add/").content.decode()
    form = admin_client.get("/admin/gateways/gateway/add/?type=pigeon").content.decode()

    assert "Carrier Pigeon" in chooser and "Messages by bird." in chooser
    assert "From the loft&#x27;s console." in form or "From the loft's console." in form
    assert "Loft" in form and 'name="cfg_region"' in form


def test_webhook_urls_and_own_numbers_follow_the_declaration(settings, pigeon, organization):
    settings.SMSPORTAL_PUBLIC_BASE_URL = "https://sms.example.org"
    gateway = Gateway.objects.create(
        organization=organization,
        name="loft",
        type="pigeon",
        config={"from": "+12025550100"},
        secrets={"apiKey": "k", "webhookTokens": ["tok"]},
    )

    assert "token=" not in gateway_webhook_url(gateway=gateway, kind="inbound")  # it signs its callbacks
    assert gateway_own_numbers(gateway) == ["+12025550100"]


def test_without_the_module_the_route_is_a_gateway_uid_again(api_client, pigeon):
    unregister("pigeon")
    assert "pigeon" not in ADAPTERS

    response = api_client.get("/api/gateways/pigeon")

    assert response.status_code == 404  # looked up as a gateway uid, not as a type
