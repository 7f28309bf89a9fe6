"""The Content-Security-Policy in a real browser: portal pages (live updates, the simulator's
choice that submits itself) and admin pages run with no violation."""

import pytest
from django.contrib.auth.models import User

from tests.factories import GatewayFactory, OrganizationFactory, OrganizationUserFactory, PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)
TIMEOUT_MS = 15_000


@pytest.fixture
def people():
    organization = OrganizationFactory(name="CSP Clinic", slug="csp-clinic")
    GatewayFactory(organization=organization, name="simulator")
    PatientFactory(organization=organization, first_name="Ana", last_name="Lopez", phone="+12025550111")
    nurse = User.objects.create_user("nurse", password="csp-test-pass")
    OrganizationUserFactory(organization=organization, user=nurse)
    User.objects.create_superuser("root", "root@example.org", "csp-test-pass")


def watched_page(browser):
    """A page whose policy violations (Chromium reports each on the console) are collected."""
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    violations = []
    page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
    return page, violations


def sign_in(page, url, username):
    page.goto(url)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "csp-test-pass")
    page.click("[type=submit]")


def test_portal_pages_run_under_the_policy(browser, live_server, people):
    page, violations = watched_page(browser)
    sign_in(page, f"{live_server.url}/accounts/login/", "nurse")
    page.wait_for_url(f"{live_server.url}/portal/")
    page.wait_for_selector("#live-status.on")  # the live-update stream connected (connect-src)

    page.goto(f"{live_server.url}/portal/simulator/")
    page.select_option("select[name=number]", "+12025550111")
    page.wait_for_url("**/portal/simulator/?number=*")  # submitted by portal.js, not an inline handler
    for path in ("/portal/adherence/", "/portal/conversations/", "/portal/send/"):
        page.goto(f"{live_server.url}{path}")

    assert violations == []
    page.close()


def test_admin_pages_run_under_the_policy(browser, live_server, people, settings):
    settings.SMSPORTAL_MFA_ENFORCE = False  # the password step alone: this test is about the pages
    page, violations = watched_page(browser)
    sign_in(page, f"{live_server.url}/admin/login/?next=/admin/", "root")
    page.wait_for_url(f"{live_server.url}/admin/")

    for path in ("/admin/entities/patient/", "/admin/entities/patient/add/", "/admin/gateways/gateway/"):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")

    assert violations == []
    page.close()
