"""Follow up in a real browser: the list and an item's page follow another staff member's changes
live, and a live update leaves a half-typed note alone."""

import pytest

from adherence.follow_up import follow_up_assign, follow_up_close, follow_up_open
from adherence.follow_up_models import FollowUp
from entities.models import OrganizationUser, Patient
from tests.browser.test_portal_flow import TIMEOUT_MS, demo, live_connected, login  # noqa: F401 — `demo` is a fixture
from tests.factories import OutboundMessageFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def settled(page, *ids):
    """Connected, and the refresh a page makes on connecting is done: what changes after this
    reaches the page only as a live event."""
    live_connected(page)
    page.wait_for_function("ids => ids.every(id => window.__portal.refreshes.some(r => r.id === id))", arg=list(ids))


def test_the_list_and_the_items_page_follow_a_colleagues_changes_live(browser, live_server, demo):  # noqa: F811
    base = live_server.url
    ana = demo["ana"]
    item = follow_up_open(
        patient=ana, reason=FollowUp.Reason.MISSED_DOSES, detail={"missedDoses": 2, "medication": "Metformin 500 mg"}
    )
    for n in range(12):  # more than the conversation box shows at once
        OutboundMessageFactory(organization=ana.organization, recipient=str(ana.phone), body=f"Reminder {n}")
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.set_default_timeout(TIMEOUT_MS)
    listing = context.new_page()
    login(listing, base, "nurse")
    listing.goto(f"{base}/portal/follow-up/")
    settled(listing, "follow-up")
    assert listing.locator("#follow-up").inner_text().count("Ana Lopez") == 1
    page = context.new_page()
    page.goto(f"{base}/portal/follow-up/{item.pk}/")
    settled(page, "follow-up-status", "follow-up-activity")
    for tab in (listing, page):
        tab.evaluate("window.__stillTheSamePage = true")
    at_end = "() => { const b = document.querySelector('#follow-up-activity .thread'); "
    at_end += "return b.scrollHeight > b.clientHeight && b.scrollHeight - b.scrollTop - b.clientHeight < 40; }"
    assert page.evaluate(at_end)  # the conversation opens at its newest message
    page.fill("textarea[name=note]", "Left a voicemail")

    # A colleague, elsewhere, takes the item, then a new patient lands on the list.
    nora = OrganizationUser.objects.get(user__username="nurse")
    follow_up_assign(item=item, assignee=nora, by=None)
    page.wait_for_selector(f"#follow-up-status:has-text('Assigned to {nora.full_name}.')")
    page.wait_for_selector(f"#follow-up-activity td:has-text('to {nora.full_name}')")
    assert page.input_value("textarea[name=note]") == "Left a voicemail"  # the form is not refreshed
    ben = Patient.objects.get(organization=ana.organization, first_name="Ben")
    follow_up_open(patient=ben, reason=FollowUp.Reason.SILENT, detail={"silentDays": 3})
    listing.wait_for_selector("#follow-up :text('Ben Okafor')")

    follow_up_close(item=item, note="Reached her daughter", by=None)
    page.wait_for_selector("#follow-up-status:has-text('Closed')")
    for tab in (listing, page):
        assert tab.evaluate("window.__stillTheSamePage") is True  # updated in place, not reloaded
