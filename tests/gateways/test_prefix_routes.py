"""Prefix routing: longest prefix wins, `*` is the default gateway, each route with its own fallback;
the routes API is organization-scoped and refuses bad input naming the field."""

from datetime import timedelta

import pytest
from django.utils import timezone

from gateways.models import Gateway, GatewayRoute
from gateways.providers.simulator import SimulatorAdapter
from messaging.models import OutboundMessage
from messaging.services.dispatch import outbound_dispatch
from messaging.services.outbound import messages_queue
from tests.factories import GatewayFactory, GatewayRouteFactory

pytestmark = pytest.mark.django_db
URL = "/api/gateways/routes"


@pytest.fixture
def kenya(organization):
    return GatewayFactory(organization=organization, is_default=False, name="kenya")


@pytest.fixture
def us(organization):
    return GatewayFactory(organization=organization, is_default=False, name="north america")


def send(organization, *numbers):
    result = messages_queue(organization=organization, recipients=list(numbers), body="hello", source="system")
    return {r: OutboundMessage.objects.get(pk=i).gateway_id for i, r, _ in result.stored}


def test_longest_prefix_wins_and_star_is_the_default(organization, gateway, kenya, us):
    safaricom = GatewayFactory(organization=organization, is_default=False, name="safaricom")
    GatewayRouteFactory(organization=organization, prefix="+254", gateway=kenya)
    GatewayRouteFactory(organization=organization, prefix="+2547", gateway=safaricom)
    GatewayRouteFactory(organization=organization, prefix="+1", gateway=us)

    chosen = send(organization, "+254712345678", "+254202345678", "+12025550123", "+442071838750")

    assert chosen == {
        "+254712345678": safaricom.pk,
        "+254202345678": kenya.pk,
        "+12025550123": us.pk,
        "+442071838750": gateway.pk,  # no route: the default gateway (`*`)
    }
    outbound_dispatch()  # (the on-commit request does not run inside the test's transaction)
    assert len(SimulatorAdapter.outbox) == 4  # each sent once, from its route's gateway
    assert set(OutboundMessage.objects.values_list("status", flat=True)) == {"sent"}


def test_a_route_whose_gateway_is_down_sends_through_the_routes_own_fallback(organization, gateway, kenya, us):
    backup = GatewayFactory(organization=organization, is_default=False, name="kenya backup")
    kenya.fallback = us  # the gateway's own fallback loses to the route's
    kenya.down_until = timezone.now() + timedelta(minutes=5)
    kenya.save()
    GatewayRouteFactory(organization=organization, prefix="+254", gateway=kenya, fallback=backup)

    assert send(organization, "+254712345678") == {"+254712345678": backup.pk}


def test_new_routes_apply_at_once_in_the_process_that_saved_them(api_client, organization, gateway, kenya):
    assert send(organization, "+254712345600") == {"+254712345600": gateway.pk}  # cached: no routes

    assert api_client.post(URL, {"prefix": "+254", "gateway": str(kenya.pk)}, format="json").status_code == 200

    assert send(organization, "+254712345601") == {"+254712345601": kenya.pk}


def test_api_lists_updates_and_deletes_routes_with_the_default_as_star(api_client, organization, gateway, kenya, us):
    created = api_client.post(URL, {"prefix": "+254", "gateway": str(kenya.pk), "fallback": str(us.pk)}, format="json")
    route_id = created.json()["response"]["id"]

    listed = api_client.get(URL).json()["routes"]
    assert listed == [
        {"id": route_id, "prefix": "+254", "gateway": str(kenya.pk), "fallback": str(us.pk), "default": False},
        {"id": None, "prefix": "*", "gateway": str(gateway.pk), "fallback": None, "default": True},
    ]
    assert api_client.put(f"{URL}/{route_id}", {"fallback": None}, format="json").status_code == 200
    assert GatewayRoute.objects.get().fallback_id is None
    api_client.put(f"/api/gateways/default/{us.pk}")
    assert api_client.get(URL).json()["routes"][-1]["gateway"] == str(us.pk)  # `*` follows the default
    assert api_client.delete(f"{URL}/{route_id}").status_code == 200
    assert not GatewayRoute.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"prefix": "254", "gateway": "KENYA"}, "prefix"),
        ({"prefix": "+25x", "gateway": "KENYA"}, "prefix"),
        ({"prefix": "*", "gateway": "KENYA"}, "prefix"),
        ({"prefix": ["+1"], "gateway": "KENYA"}, "prefix"),
        ({"prefix": "+254"}, "gateway"),
        ({"prefix": "+254", "gateway": "not-a-uid"}, "gateway"),
        ({"prefix": "+254", "gateway": "00000000-0000-0000-0000-000000000000"}, "gateway"),
        ({"prefix": "+254", "gateway": "OTHER"}, "gateway"),
        ({"prefix": "+254", "gateway": "KENYA", "fallback": "OTHER"}, "fallback"),
        ({"prefix": "+254", "gateway": "KENYA", "fallback": "KENYA"}, "fallback"),
    ],
)
def test_bad_routes_are_refused_naming_the_field_and_nothing_saved(api_client, other_organization, kenya, body, field):
    theirs = GatewayFactory(organization=other_organization, name="theirs")
    names = {"KENYA": str(kenya.pk), "OTHER": str(theirs.pk)}
    body = {k: names.get(v, v) if isinstance(v, str) else v for k, v in body.items()}

    response = api_client.post(URL, body, format="json")

    assert response.status_code == 400, response.json()
    assert response.json()["response"]["field"] == field
    assert not GatewayRoute.objects.exists()


def test_a_duplicate_prefix_is_refused(api_client, kenya):
    assert api_client.post(URL, {"prefix": "+254", "gateway": str(kenya.pk)}, format="json").status_code == 200
    again = api_client.post(URL, {"prefix": "+254", "gateway": str(kenya.pk)}, format="json")
    assert again.status_code == 400 and again.json()["response"]["field"] == "prefix"


def test_another_organizations_routes_are_invisible(api_client, other_api_client, kenya):
    route_id = api_client.post(URL, {"prefix": "+254", "gateway": str(kenya.pk)}, format="json").json()["response"][
        "id"
    ]

    assert [r["prefix"] for r in other_api_client.get(URL).json()["routes"]] == ["*"]
    assert other_api_client.get(f"{URL}/{route_id}").status_code == 404
    assert other_api_client.put(f"{URL}/{route_id}", {"prefix": "+1"}, format="json").status_code == 404
    assert other_api_client.delete(f"{URL}/{route_id}").status_code == 404
    assert GatewayRoute.objects.get().prefix == "+254"


def test_admin_refuses_another_organizations_gateway_for_a_superuser(admin_client, organization, other_organization):
    theirs = GatewayFactory(organization=other_organization, name="theirs")
    response = admin_client.post(
        "/admin/gateways/gatewayroute/add/",
        {"organization": organization.pk, "prefix": "+254", "gateway": theirs.pk, "fallback": ""},
    )
    assert response.status_code == 200  # the form again, with the error
    assert list(response.context["adminform"].form.errors) == ["gateway"]
    assert not GatewayRoute.objects.exists()


def test_routes_to_an_inactive_gateway_are_skipped(organization, gateway, kenya):
    GatewayRouteFactory(organization=organization, prefix="+254", gateway=kenya)
    Gateway.objects.filter(pk=kenya.pk).update(is_active=False)
    assert send(organization, "+254712345678") == {"+254712345678": gateway.pk}


def test_a_large_send_is_routed_per_recipient(organization, gateway, kenya):
    """Past COPY_THRESHOLD (PostgreSQL's COPY path) each row still carries its own route's gateway."""
    GatewayRouteFactory(organization=organization, prefix="+254", gateway=kenya)
    numbers = [f"+2547123450{n:02d}" for n in range(40)] + [f"+1202555{n:04d}" for n in range(40)]

    chosen = send(organization, *numbers)

    assert {n for n, g in chosen.items() if g == kenya.pk} == set(numbers[:40])
    assert {n for n, g in chosen.items() if g == gateway.pk} == set(numbers[40:])
