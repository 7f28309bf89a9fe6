"""Two-factor sign-in for staff (issue 12, point 9): TOTP + recovery codes, always for superusers,
for an organization's staff when the organization requires it; API keys unaffected."""

import re
from base64 import b32encode

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_otp import devices_for_user
from django_otp.oath import TOTP, totp

from entities.roles import organization_login_create
from mfa.models import EncryptedTOTPDevice as TOTPDevice
from tests.factories import OrganizationUserFactory

pytestmark = pytest.mark.django_db


def signed_in(username, password="pw") -> Client:
    """Password step only, through the real login page (no force_login: that one is verified)."""
    client = Client()
    assert client.post("/accounts/login/", {"username": username, "password": password}).status_code == 302
    return client


def current_code(user) -> str:
    device = TOTPDevice.objects.get(user=user)
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):06d}"


def accepted_code(user) -> str:
    """The last code the authenticator accepted (its time step, not the clock's: no 30 s race)."""
    device = TOTPDevice.objects.get(user=user)
    otp = TOTP(device.bin_key, device.step, device.t0, device.digits)
    otp.time = device.t0 + device.last_t * device.step
    return f"{otp.token():06d}"


def throttle_waited(user) -> None:
    """The growing wait after a wrong code (django-otp throttling), elapsed."""
    for device in devices_for_user(user, confirmed=None):
        device.throttle_reset()


def set_up(client, user, following="/admin/") -> list[str]:
    """Complete the setup page; returns the recovery codes it shows once."""
    setup = client.get(f"/accounts/two-factor/?next={following}")
    assert setup.status_code == 200 and "<svg" in setup.content.decode()
    done = client.post("/accounts/two-factor/", {"token": current_code(user), "next": following})
    assert done.status_code == 200
    return re.findall(r"<li><code>(\w+)</code></li>", done.content.decode())


def staff_of(organization, username) -> User:
    user = User.objects.create_user(username, password="pw")
    OrganizationUserFactory(organization=organization, user=user)
    return user


@pytest.fixture
def root():
    return User.objects.create_superuser("root", "root@example.org", "pw")


def test_a_superuser_sets_up_an_authenticator_before_reaching_the_admin(root):
    client = signed_in("root")

    first = client.get("/admin/gateways/gateway/")
    assert first.status_code == 302 and first["Location"].startswith("/accounts/two-factor/?next=")
    assert client.get("/portal/").status_code == 302  # the portal too

    setup = client.get("/accounts/two-factor/?next=/admin/").content.decode()
    secret = TOTPDevice.objects.get(user=root).bin_key

    assert b32encode(secret).decode().rstrip("=")[:4] in setup  # the key, for typing in by hand
    wrong = client.post("/accounts/two-factor/", {"token": "000000", "next": "/admin/"})
    assert wrong.status_code == 400 and client.get("/admin/").status_code == 302
    throttle_waited(root)

    codes = set_up(client, root)

    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get("/admin/").status_code == 200
    assert TOTPDevice.objects.get(user=root).confirmed


def test_the_next_sign_in_asks_for_a_code_and_recovery_codes_work_once(root):
    codes = set_up(signed_in("root"), root)

    client = signed_in("root")
    assert client.get("/admin/").status_code == 302
    assert "authenticator" in client.get("/accounts/two-factor/").content.decode()
    assert client.post("/accounts/two-factor/", {"token": codes[0], "next": "/admin/"})["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200

    again = signed_in("root")
    assert again.post("/accounts/two-factor/", {"token": codes[0], "next": "/admin/"}).status_code == 400
    assert again.get("/admin/").status_code == 302


def test_new_recovery_codes_replace_the_old_ones(root):
    old = set_up(signed_in("root"), root)
    client = signed_in("root")
    client.post("/accounts/two-factor/", {"token": old[0]})

    page = client.post("/accounts/two-factor/recovery-codes", {"next": "/admin/"}).content.decode()
    new = re.findall(r"<li><code>(\w+)</code></li>", page)

    assert len(new) == 10
    assert signed_in("root").post("/accounts/two-factor/", {"token": old[1]}).status_code == 400
    throttle_waited(root)
    assert signed_in("root").post("/accounts/two-factor/", {"token": new[0]}).status_code == 302


def test_a_code_is_accepted_once(root):
    set_up(signed_in("root"), root)

    # The code that confirmed the setup cannot sign in a second session (a replayed code).
    assert signed_in("root").post("/accounts/two-factor/", {"token": accepted_code(root)}).status_code == 400


def test_repeated_wrong_codes_are_throttled(root):
    set_up(signed_in("root"), root)
    client = signed_in("root")

    for _ in range(5):
        client.post("/accounts/two-factor/", {"token": "123456"})

    # Even the right code waits out the growing delay (django-otp throttling).
    assert client.post("/accounts/two-factor/", {"token": current_code(root)}).status_code == 400


def test_an_organization_can_require_two_factor_for_its_staff(organization, other_organization):
    organization.require_two_factor = True
    organization.save()
    staff_of(organization, "nurse")
    staff_of(other_organization, "clerk")

    nurse = signed_in("nurse")
    assert nurse.get("/portal/").status_code == 302
    assert nurse.get("/portal/").headers["Location"].startswith("/accounts/two-factor/")
    assert signed_in("clerk").get("/portal/").status_code == 200  # their organization does not require it


def test_staff_who_set_up_a_device_are_asked_for_it_even_when_not_required(organization):
    nurse = staff_of(organization, "nurse")
    client = signed_in("nurse")
    assert client.get("/portal/").status_code == 200

    set_up(client, nurse, "/portal/")

    assert signed_in("nurse").get("/portal/").status_code == 302


def test_unverified_sessions_cannot_use_the_api_but_api_keys_are_unaffected(root, organization, api_client):
    organization.require_two_factor = True
    organization.save()

    session_call = signed_in("root").get("/api/v1/patients/")

    assert session_call.status_code == 403
    assert "two-factor" in session_call.json()["error"]
    assert api_client.get("/api/v1/patients/").status_code == 200


def test_without_enforcement_only_users_with_a_device_are_asked(settings, root):
    settings.SMSPORTAL_MFA_ENFORCE = False

    assert signed_in("root").get("/admin/").status_code == 200
    assert "needs a second factor" not in signed_in("root").get("/accounts/two-factor/").content.decode()  # optional

    set_up(signed_in("root"), root)
    assert signed_in("root").get("/admin/").status_code == 302


def test_the_biot_representation_shows_the_real_two_factor_state(organization, api_client):
    nurse = staff_of(organization, "nurse")
    person = nurse.organization_user
    path = f"/api/v1/organization-users/{person.pk}/"

    assert api_client.get(path).json()["_mfa"]["enabled"] is False
    set_up(signed_in("nurse"), nurse, "/portal/")
    assert api_client.get(path).json()["_mfa"]["enabled"] is True


def test_after_the_code_only_a_local_address_is_followed(root):
    codes = set_up(signed_in("root"), root)
    client = signed_in("root")

    answer = client.post("/accounts/two-factor/", {"token": codes[0], "next": "https://evil.example/"})

    assert answer.status_code == 302 and answer["Location"] == "/portal/"


def test_the_portal_links_to_the_two_factor_page(organization):
    staff_of(organization, "nurse")

    assert "/accounts/two-factor/?next=" in signed_in("nurse").get("/portal/").content.decode()


def test_an_organization_admin_can_require_two_factor_for_its_staff(organization):
    boss = Client()
    login, _ = organization_login_create(organization=organization, email="boss@example.org", username="boss")
    boss.force_login(login)
    form = boss.get(f"/admin/entities/organization/{organization.pk}/change/").content.decode()

    assert 'name="require_two_factor"' in form
