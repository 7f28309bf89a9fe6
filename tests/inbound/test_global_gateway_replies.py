"""Replies on a global gateway: attributed by the number they were sent to, never guessed.

Organizations C (`organization`) and D (`other_organization`) have no gateway of their own and
share one global Clickatell account (its sends go to the local provider simulator). Each has its
own sender number there; the gateway's `from` is shared.
"""

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from gateways.services import inbound_number_assign, inbound_numbers_set
from messaging.models import InboundMessage, OutboundMessage
from messaging.services.outbound import messages_queue
from plugins.models import PluginInvocation
from plugins.registrations import registration_create
from tests.factories import CaregiverFactory, GatewayFactory, OrganizationFactory, PatientFactory
from tests.plugins.receiver import PluginReceiver

pytestmark = pytest.mark.django_db(transaction=True)
SHARED, C_NUMBER, D_NUMBER, D_GB_NUMBER = "+12025550100", "+12025550101", "+12025550102", "+447400123400"
PATIENT = "+12025550111"


@pytest.fixture
def shared_gateway(provider_simulator, organization, other_organization):
    gateway = GatewayFactory(
        organization=None,
        type="clickatell",
        config={"urlTemplate": f"{provider_simulator.url}/messages", "from": SHARED},
        secrets={"authToken": "key", "webhookTokens": ["t"]},
    )
    inbound_numbers_set(gateway, [SHARED, C_NUMBER, D_NUMBER, D_GB_NUMBER])
    for number, owner in ((C_NUMBER, organization), (D_NUMBER, other_organization), (D_GB_NUMBER, other_organization)):
        inbound_number_assign(number=gateway.inbound_numbers.get(number=number), organization=owner)
    return gateway


@pytest.fixture
def plugins(receiver, organization, other_organization):
    """One plugin per organization, told apart by the path they are called on."""
    for name, org in (("c", organization), ("d", other_organization)):
        registration_create(
            organization=org,
            name=f"plugin-{name}",
            url=f"{receiver.url}/{name}",
            entity_types=["patient", "caregiver", "organization-user"],
            actions=["_incomingSms"],
            max_attempts=1,
            timeout_seconds=2,
        )
    return receiver


def send(org, recipient=PATIENT, body="How are you feeling?") -> OutboundMessage:
    message = messages_queue(organization=org, recipients=[recipient], body=body, source="portal").messages[0]
    message.refresh_from_db()
    return message


def reply(client, gateway, *, to, text="my symptoms are worse", sender=PATIENT, reply_id="r1"):
    body = {"messageId": reply_id, "fromNumber": sender[1:], "toNumber": to[1:], "text": text}
    response = client.post(
        f"/webhooks/{gateway.pk}/inbound?token=t", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 200
    return InboundMessage.objects.filter(provider_message_id=reply_id).first()


def plugin_paths(receiver: PluginReceiver, count: int) -> list[str]:
    calls = receiver.wait_for(count)
    assert len(calls) == count, f"expected {count} plugin call(s), got {len(calls)}"
    return [call.path for call in calls]


def test_the_other_tenant_texting_the_same_number_does_not_capture_the_reply(
    client, shared_gateway, organization, other_organization, plugins, provider_simulator
):
    patient = PatientFactory(organization=other_organization, phone=PATIENT)
    d_sent = send(other_organization)  # D texts its patient
    c_sent = send(organization, body="hi")  # then C texts the same number

    assert d_sent.status == c_sent.status == OutboundMessage.Status.SENT
    assert (d_sent.sender, c_sent.sender) == (D_NUMBER, C_NUMBER)
    sent_from = [r.json()["from"] for r in provider_simulator.requests_for("clickatell")]
    assert sent_from == [D_NUMBER[1:], C_NUMBER[1:]]  # what the provider was asked to send from

    stored = reply(client, shared_gateway, to=d_sent.sender)

    assert stored.organization_id == other_organization.id
    assert (stored.entity_id, stored.in_reply_to_id) == (patient.id, d_sent.id)
    assert plugin_paths(plugins, 1) == ["/plugin/d"]
    assert not InboundMessage.objects.filter(organization=organization).exists()


@pytest.mark.django_db
def test_each_organization_sends_from_its_own_numbers_and_never_from_anothers(
    shared_gateway, organization, other_organization, api_client
):
    third = OrganizationFactory(name="Third", slug="third")
    gb_patient = "+447400123456"

    def senders(org, recipients):
        return {
            m.recipient: m.sender
            for m in messages_queue(organization=org, recipients=recipients, body="x", source="api").messages
        }

    assert senders(other_organization, [PATIENT]) == {PATIENT: D_NUMBER}
    assert senders(other_organization, [PATIENT, gb_patient]) == {PATIENT: D_NUMBER, gb_patient: D_GB_NUMBER}
    # C has no British number: the shared default, never D's.
    assert senders(organization, [PATIENT, gb_patient]) == {PATIENT: C_NUMBER, gb_patient: SHARED}
    assert senders(third, [PATIENT]) == {PATIENT: SHARED}
    # What an organization is shown of the global gateway: its numbers and the shared one only.
    shown = api_client.get("/api/gateways/default").json()["inboundNumbers"]
    assert sorted(n["number"] for n in shown) == [SHARED, C_NUMBER]


def test_a_reply_to_a_shared_number_goes_to_the_one_organization_that_knows_the_sender(
    client, shared_gateway, organization, other_organization, plugins
):
    caregiver = CaregiverFactory(organization=organization, phone=PATIENT)
    c_sent = send(organization)
    send(other_organization)  # D texted the number later: not a reason to give D the reply

    stored = reply(client, shared_gateway, to=SHARED, text="she is fine")

    assert stored.organization_id == organization.id
    assert (stored.entity_id, stored.in_reply_to_id) == (caregiver.id, c_sent.id)
    assert plugin_paths(plugins, 1) == ["/plugin/c"]


def _staff(org, username: str, *, admin: bool = False) -> Client:
    from tests.factories import OrganizationUserFactory

    user = User.objects.create_user(username, is_staff=admin)
    if admin:
        user.user_permissions.set(Permission.objects.filter(content_type__app_label="messaging"))
    OrganizationUserFactory(organization=org, user=user, phone="")
    staff = Client()
    staff.force_login(user)
    return staff


def _assign(superuser: Client, message: InboundMessage, org):
    return superuser.post(
        "/admin/messaging/unattributedinboundmessage/",
        {
            "action": "assign_to_organization",
            "_selected_action": [str(message.pk)],
            "apply": "1",
            "organization": org.pk,
        },
    )


def test_an_unknown_sender_on_a_shared_number_is_held_for_a_superuser_and_seen_by_no_organization(
    client, shared_gateway, organization, other_organization, plugins, api_client, other_api_client
):
    d_sent = send(other_organization)
    send(organization, body="hi")
    stored = reply(client, shared_gateway, to=SHARED)
    again = reply(client, shared_gateway, to=SHARED)  # the provider retries: still one row

    assert stored.organization_id is None and stored.status == InboundMessage.Status.UNATTRIBUTED
    assert again.pk == stored.pk and InboundMessage.objects.count() == 1
    assert not PluginInvocation.objects.exists()
    for api in (api_client, other_api_client):
        assert api.get("/api/sms/inbound?fields=*").json()["inboundsmss"] == []
        assert api.get(f"/api/sms/inbound/{stored.pk}").status_code == 404
    for org, name in ((organization, "nurse"), (other_organization, "intruder")):
        staff = _staff(org, name, admin=True)
        assert "symptoms" not in staff.get("/portal/conversations/").content.decode()
        listing = staff.get("/admin/messaging/inboundmessage/")
        assert listing.status_code == 200 and PATIENT not in listing.content.decode()
        assert staff.get("/admin/messaging/unattributedinboundmessage/").status_code == 403
        assert _assign(staff, stored, org).status_code == 403

    superuser = Client()
    superuser.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    held = superuser.get("/admin/messaging/unattributedinboundmessage/").content.decode()
    assert PATIENT in held and "Assign to organization" in held
    # Whose number it is is found out (D registers the patient); the superuser gives the reply to D.
    patient = PatientFactory(organization=other_organization, phone=PATIENT)
    assert _assign(superuser, stored, other_organization).status_code == 302
    _assign(superuser, stored, organization)  # no longer unattributed: changes nothing

    stored.refresh_from_db()
    assert stored.organization_id == other_organization.id and stored.status == InboundMessage.Status.PROCESSED
    assert (stored.entity_id, stored.in_reply_to_id) == (patient.id, d_sent.id)  # not C's later "hi"
    assert plugin_paths(plugins, 1) == ["/plugin/d"]
    assert PluginInvocation.objects.count() == 1
    assert PATIENT not in superuser.get("/admin/messaging/unattributedinboundmessage/").content.decode()


def test_a_sender_known_to_two_organizations_is_not_guessed(
    client, shared_gateway, organization, other_organization, plugins
):
    PatientFactory(organization=other_organization, phone=PATIENT)
    caregiver = CaregiverFactory(organization=organization, phone=PATIENT)
    send(organization)
    send(other_organization)

    stored = reply(client, shared_gateway, to=SHARED)

    assert stored.organization_id is None and not PluginInvocation.objects.exists()
    superuser = Client()
    superuser.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    assert _assign(superuser, stored, organization).status_code == 302
    stored.refresh_from_db()
    assert stored.organization_id == organization.id and stored.entity_id == caregiver.id
    # The provider retries after the assignment: still unattributable, and still a duplicate.
    assert reply(client, shared_gateway, to=SHARED).pk == stored.pk and InboundMessage.objects.count() == 1
    assert plugin_paths(plugins, 1) == ["/plugin/c"]


@pytest.mark.django_db
def test_the_gateways_default_sender_stays_shared(shared_gateway, organization):
    superuser = Client()
    superuser.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    number = shared_gateway.inbound_numbers.get(number=SHARED)

    response = superuser.post(f"/admin/gateways/inboundnumber/{number.pk}/change/", {"organization": organization.pk})

    assert response.status_code == 200 and "stays shared" in response.content.decode()
    number.refresh_from_db()
    assert number.organization_id is None


@pytest.mark.django_db
def test_a_superuser_assigns_a_global_gateways_numbers_through_the_gateway_api(
    shared_gateway, organization, other_organization, api_client
):
    from rest_framework.test import APIClient

    root = APIClient()
    root.force_authenticate(User.objects.create_superuser("root", "root@example.org", "pw"))
    url = f"/api/gateways/{shared_gateway.pk}"
    numbers = [
        {"number": SHARED},
        {"number": C_NUMBER, "organization": None},  # shared again
        {"number": D_NUMBER, "organization": str(organization.pk)},  # moved from D to C
        D_GB_NUMBER,  # absent "organization": unchanged
    ]

    refused = root.put(url, {"inboundNumbers": [{"number": SHARED, "organization": str(organization.pk)}]}, "json")
    assert refused.status_code == 400 and refused.json()["response"]["field"] == "inboundNumbers[0].organization"
    assert root.put(url, {"inboundNumbers": numbers}, format="json").status_code == 200

    shown = {n["number"]: n["organization"] for n in root.get(url).json()["inboundNumbers"]}
    assert shown == {
        SHARED: None,
        C_NUMBER: None,
        D_NUMBER: str(organization.pk),
        D_GB_NUMBER: str(other_organization.pk),
    }
    # An organization's own gateway has no assignments, and its API callers cannot reach a global one.
    assert api_client.put(url, {"inboundNumbers": numbers}, format="json").status_code == 404
    own = GatewayFactory(organization=organization, name="own")
    mine = [{"number": "+12025550199", "organization": str(organization.pk)}]
    refused = api_client.put(f"/api/gateways/{own.pk}", {"inboundNumbers": mine}, format="json")
    assert refused.status_code == 400 and refused.json()["response"]["field"] == "inboundNumbers[0].organization"
    assert not own.inbound_numbers.exists()
