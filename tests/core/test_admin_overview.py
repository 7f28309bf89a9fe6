"""The admin's home page: an organization's overview, scoped to the organization the user acts for."""

from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from entities.models import OrganizationUser
from messaging.models import OptOut, OutboundMessage
from tests.factories import GatewayFactory


def _message(organization, status):
    return OutboundMessage.objects.create(
        organization=organization, recipient="+12025550101", body="b", status=status, source="api"
    )


def test_an_organization_admin_sees_only_their_organizations_health_and_counts(
    client, organization, other_organization
):
    now = timezone.now()
    GatewayFactory(organization=organization, name="Clinic Twilio", last_success_at=now)
    GatewayFactory(
        organization=organization,
        name="Backup",
        is_default=False,
        last_error_at=now,
        last_error="HTTP 503",
        down_until=now + timedelta(minutes=5),
    )
    GatewayFactory(organization=other_organization, name="Elsewhere")
    for status in ("delivered", "delivered", "failed"):
        _message(organization, status)
    _message(other_organization, "failed")
    OptOut.objects.create(organization=organization, phone_number="+12025550102")
    OptOut.objects.create(organization=other_organization, phone_number="+12025550103")
    user = User.objects.create_user("orgadmin", password="pw", is_staff=True)
    OrganizationUser.objects.create(organization=organization, first_name="A", user=user)
    client.force_login(user)

    response = client.get("/admin/")

    overview = response.context["overview"]
    assert overview["organization"] == organization
    assert [g["state"] for g in overview["gateways"]] == ["down", "working"]  # Backup, Clinic Twilio
    assert overview["gateways_attention"] == 1
    by_status = {row["status"].lower(): row["count"] for row in overview["messages_today"]}
    assert by_status["delivered"] == 2 and by_status["failed"] == 1 and overview["messages_today_total"] == 3
    assert overview["opt_outs"] == 1
    page = response.content.decode()
    assert "Elsewhere" not in page and "Clinic Twilio" in page and "HTTP 503" in page
    assert "/admin/messaging/outboundmessage/?status=failed&amp;created_at__gte=" in page


def test_a_superuser_sees_every_organization_or_the_one_chosen(admin_client, organization, other_organization):
    GatewayFactory(organization=organization, name="Mine")
    GatewayFactory(organization=other_organization, name="Theirs")

    everyone = admin_client.get("/admin/")
    chosen = admin_client.get(f"/admin/?organization={other_organization.pk}")
    malformed = admin_client.get("/admin/?organization=../x")

    assert everyone.context["overview"]["organization"] is None
    assert b"Mine" in everyone.content and b"Theirs" in everyone.content
    assert chosen.context["overview"]["organization"] == other_organization
    assert b"Theirs" in chosen.content and b"Mine" not in chosen.content
    assert malformed.status_code == 200 and malformed.context["overview"]["organization"] is None


def test_staff_without_an_organization_see_no_overview(client, organization):
    GatewayFactory(organization=organization, name="Mine")
    user = User.objects.create_user("loose", password="pw", is_staff=True)
    client.force_login(user)

    response = client.get("/admin/")

    assert response.status_code == 200 and "overview" not in response.context and b"Mine" not in response.content


def test_messages_today_counts_sent_and_received_separately(client, admin_client, organization, other_organization):
    from tests.factories import InboundMessageFactory

    _message(organization, "delivered")
    InboundMessageFactory(organization=organization, status="processed")
    InboundMessageFactory(organization=organization, status="failed")
    InboundMessageFactory(organization=organization, received_at=timezone.now() - timedelta(days=2))
    InboundMessageFactory(organization=other_organization)
    user = User.objects.create_user("orgadmin", password="pw", is_staff=True)
    OrganizationUser.objects.create(organization=organization, first_name="A", user=user)
    client.force_login(user)

    response = client.get("/admin/")

    overview = response.context["overview"]
    assert (overview["messages_sent_total"], overview["messages_received_total"]) == (1, 2)
    assert overview["messages_today_total"] == 3
    received = {row["status"].lower(): row["count"] for row in overview["messages_received_today"]}
    assert received["processed"] == 1 and received["failed"] == 1 and "unattributed" not in received
    page = response.content.decode()
    assert "1 sent</span>" in page and "2 received</span>" in page
    assert "/admin/messaging/inboundmessage/?status=failed&amp;received_at__gte=" in page
    link = next(row for row in overview["messages_received_today"] if row["status"] == "Failed")["link"]
    listed = admin_client.get(link.split('href="')[1].split('"')[0].replace("&amp;", "&"))
    assert listed.status_code == 200 and listed.context["cl"].result_count == 1


def test_today_is_the_organizations_day_not_the_servers(organization):
    from datetime import UTC, datetime

    from smsportal.overview import overview
    from tests.factories import InboundMessageFactory

    # 21:00 UTC is 09:00 the next morning in Auckland (UTC+12 in July): its today began at 12:00 UTC.
    organization.timezone = "Pacific/Auckland"
    organization.save()
    now = datetime(2026, 7, 1, 21, 0, tzinfo=UTC)
    InboundMessageFactory(organization=organization, received_at=datetime(2026, 7, 1, 13, 0, tzinfo=UTC))  # today there
    InboundMessageFactory(organization=organization, received_at=datetime(2026, 7, 1, 10, 0, tzinfo=UTC))  # yesterday

    assert overview(organization=organization, now=now)["messages_received_total"] == 1
