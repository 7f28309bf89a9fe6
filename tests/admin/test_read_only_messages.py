"""The outbound and inbound message pages are read-only: they offer nothing to save, while the
outbox's list keeps its retry and resend actions."""

import pytest

from messaging.models import InboundMessage, OutboundMessage
from tests.factories import InboundMessageFactory, OutboundMessageFactory

SAVE_BUTTONS = ('name="_save"', 'name="_continue"', 'name="_addanother"')


@pytest.fixture(params=["superuser", "organization admin"])
def admin_user_client(request, client, admin_user, org_a, org_a_admin):
    client.force_login(admin_user if request.param == "superuser" else org_a_admin)
    return client


@pytest.mark.parametrize(
    "factory, model", [(OutboundMessageFactory, OutboundMessage), (InboundMessageFactory, InboundMessage)]
)
def test_a_message_page_has_no_save_buttons_and_a_post_changes_nothing(admin_user_client, org_a, factory, model):
    message = factory(organization=org_a)
    url = f"/admin/messaging/{model._meta.model_name}/{message.pk}/change/"

    page = admin_user_client.get(url)
    post = admin_user_client.post(url, {"status": "delivered", "_save": "Save"})

    assert page.status_code == 200
    html = page.content.decode()
    assert not [button for button in SAVE_BUTTONS if button in html]
    assert post.status_code == 403
    assert model.objects.get(pk=message.pk).status == message.status


def test_the_outbox_list_keeps_its_actions(admin_user_client, org_a):
    OutboundMessageFactory(organization=org_a, status="failed")

    page = admin_user_client.get("/admin/messaging/outboundmessage/").content.decode()

    assert 'value="retry_failed"' in page and 'value="resend_unknown"' in page


def test_the_encoding_is_written_as_stored_and_as_the_api_writes_it():
    from messaging.models import OutboundMessage

    assert OutboundMessage.Encoding.GSM7.label == "GSM-7" and OutboundMessage.Encoding.UCS2.label == "UCS-2"


def test_a_recorded_opt_out_cannot_be_moved_to_another_number(admin_client, organization):
    from messaging.models import OptOut
    from tests.factories import OptOutFactory

    opt_out = OptOutFactory(organization=organization, phone_number="+12025550150")
    url = f"/admin/messaging/optout/{opt_out.pk}/change/"

    admin_client.post(url, {"organization": str(organization.pk), "phone_number": "+12025550999", "method": "api"})

    assert OptOut.objects.get(pk=opt_out.pk).phone_number == "+12025550150"
    add = admin_client.get("/admin/messaging/optout/add/").content.decode()
    assert 'name="phone_number"' in add  # a new one is still typed in


def test_an_organization_admin_reviews_follow_ups_and_is_sent_to_the_portal_to_work_on_them(client, org_a_admin, org_a):
    from tests.factories import FollowUpFactory

    item = FollowUpFactory(organization=org_a)
    client.force_login(org_a_admin)

    page = client.get("/admin/adherence/followup/").content.decode()

    assert item.patient.first_name in page and f'href="/portal/follow-up/{item.pk}/"' in page
    assert client.post(f"/admin/adherence/followup/{item.pk}/change/", {"status": "closed"}).status_code == 403
    item.refresh_from_db()
    assert item.status == "open"
