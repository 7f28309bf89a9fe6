"""An organization admin in a real browser: overview, a Twilio gateway, a patient, a plugin and its secret once.

Screenshots of what they see go to docs/screenshots/admin-*.png with SMSPORTAL_SCREENSHOTS=1
(docs/admin.md); other runs take them into a temporary directory.
"""

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from entities.models import Patient
from entities.roles import organization_login_create
from gateways.models import Gateway
from messaging.models import OptOut, OutboundMessage
from plugins.models import PluginRegistration
from tests.factories import GatewayFactory, OrganizationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
DOC_SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TIMEOUT_MS = 10_000


@pytest.fixture
def shots(tmp_path):
    target = DOC_SHOTS if os.environ.get("SMSPORTAL_SCREENSHOTS") == "1" else tmp_path
    target.mkdir(parents=True, exist_ok=True)
    return target


@pytest.fixture
def org_admin(db, settings):
    settings.SMSPORTAL_PUBLIC_BASE_URL = "https://sms.clinic.example"
    org = OrganizationFactory(name="Demo Org", slug="demo-org")
    now = timezone.now()
    GatewayFactory(organization=org, name="Simulator", last_success_at=now)
    GatewayFactory(
        organization=org, name="Backup BulkSMS", type="bulksms", is_default=False,
        last_error_at=now, last_error="HTTP 503 from api.bulksms.com", down_until=now + timedelta(minutes=4),
    )  # fmt: skip
    for status, count in (("delivered", 41), ("sent", 6), ("queued", 2), ("failed", 1)):
        OutboundMessage.objects.bulk_create(
            OutboundMessage(organization=org, recipient="+12025550101", body="Reminder", status=status, source="api")
            for _ in range(count)
        )
    OptOut.objects.create(organization=org, phone_number="+12025550109", method="keyword")
    other = OrganizationFactory(name="Other Clinic", slug="other-clinic")
    GatewayFactory(organization=other, name="Other clinic gateway")
    # An organization admin as `create_org_admin` makes one (role "admin").
    organization_login_create(
        organization=org, email="olga.admin@demo-org.example", username="orgadmin", password="admin-test-pass"
    )
    return org


def _login(page, base):
    page.goto(f"{base}/admin/")
    page.fill("input[name=username]", "orgadmin")
    page.fill("input[name=password]", "admin-test-pass")
    page.click("button[type=submit]")
    page.wait_for_selector("#overview")


def _save(page):
    page.click("button[name=_save]")
    page.wait_for_load_state()


def test_an_organization_admin_adds_a_twilio_gateway_a_patient_and_a_plugin(browser, live_server, org_admin, shots):
    base = live_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    console_errors = []  # e.g. a Content-Security-Policy refusing the theme's scripts or styles
    page.on(
        "console",
        lambda m: console_errors.append(f"{m.text} {m.location.get('url')}") if m.type == "error" else None,
    )

    # The home page is the organization's overview; another organization's gateway is not on it.
    _login(page, base)
    assert "Demo Org" in page.inner_text("#overview")
    assert "HTTP 503" in page.inner_text("#gateway-health")
    assert "Other clinic gateway" not in page.content()
    page.screenshot(path=str(shots / "admin-overview.png"), full_page=True)

    # A Twilio gateway: choose the provider, then only Twilio's fields.
    page.goto(f"{base}/admin/gateways/gateway/add/")
    page.click("a[href='?type=twilio']")
    assert page.locator("input[name=cfg_username]").count() == 0
    assert page.locator("select[name=organization]").count() == 0  # always the admin's own organization
    page.fill("input[name=name]", "Clinic Twilio")
    page.fill("input[name=cfg_accountSid]", "AC0123456789abcdef0123456789abcdef")
    page.fill("input[name=secret_authToken]", "twilio-auth-token")
    page.fill("input[name=cfg_from]", "not a number")
    _save(page)
    assert "from must be an E.164 number" in page.inner_text(".field-cfg_from")  # on the field, not a 500
    page.fill("input[name=secret_authToken]", "twilio-auth-token")  # secrets are never rendered back
    page.fill("input[name=cfg_from]", "+12025550100")
    page.screenshot(path=str(shots / "admin-gateway-twilio.png"), full_page=True)
    _save(page)
    gateway = Gateway.objects.get(name="Clinic Twilio")
    assert gateway.organization == org_admin and gateway.secrets["authToken"] == "twilio-auth-token"

    # Its page shows the URLs to paste into the Twilio console, each with a copy button.
    page.goto(f"{base}/admin/gateways/gateway/{gateway.pk}/change/")
    inbound = page.locator(".smsportal-copy-button[data-copy*='/inbound']")
    assert inbound.get_attribute("data-copy").startswith(f"https://sms.clinic.example/webhooks/{gateway.pk}/inbound")
    assert "twilio-auth-token" not in page.content()
    page.screenshot(path=str(shots / "admin-gateway-webhooks.png"), full_page=True)

    # A patient.
    page.goto(f"{base}/admin/entities/patient/add/")
    page.fill("input[name=first_name]", "Ana")
    page.fill("input[name=last_name]", "Lopez")
    page.fill("input[name=phone]", "+12025550111")
    _save(page)
    assert Patient.objects.get(first_name="Ana").organization == org_admin

    # A plugin: entity types and actions are checkboxes; the secret is shown once.
    page.goto(f"{base}/admin/plugins/pluginregistration/add/")
    assert page.locator("select[name=organization]").count() == 0  # always the admin's own organization
    page.fill("input[name=name]", "Care app")
    page.fill("input[name=url]", "https://care-app.example.com/sms-hook")
    page.check("input[name=entity_types][value=caregiver]")
    assert page.is_checked("input[name=entity_types][value=patient]")
    assert page.is_checked("input[name=actions][value=_incomingSms]")
    _save(page)
    secret = page.inner_text("#plugin-secret").strip()
    registration = PluginRegistration.objects.get(name="Care app")
    assert secret.startswith("whsec_") and secret == registration.webhook_secret
    assert registration.entity_types == ["patient", "caregiver"] and registration.organization == org_admin
    page.screenshot(path=str(shots / "admin-plugin-secret.png"), full_page=True)
    page.click("text=I have stored the secret")
    page.wait_for_selector("text=Rotate secret")
    assert "set (hidden)" in page.inner_text("#content-main") and secret not in page.content()
    assert [e for e in console_errors if not e.endswith("/favicon.ico")] == []
    context.close()


FITS = "document.documentElement.scrollWidth <= window.innerWidth + 1"  # no sideways scrolling


def test_the_overview_and_the_forms_fit_a_phone(browser, live_server, org_admin, shots):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()

    _login(page, live_server.url)

    assert page.evaluate(FITS)
    page.screenshot(path=str(shots / "admin-overview-phone.png"), full_page=True)
    for path in (
        "/admin/gateways/gateway/add/",
        "/admin/gateways/gateway/add/?type=http",
        "/admin/plugins/pluginregistration/add/",
    ):
        page.goto(f"{live_server.url}{path}")
        assert page.evaluate(FITS), path
    context.close()
