"""Login throttling per address as well as per username + address, with the client address read
from the proxy's X-Forwarded-For entry only when BEHIND_TLS_PROXY is set (issue 12, point 8)."""

import pytest
from django.contrib.auth.models import User
from django.test import Client

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.2"


def portal_login(client, username, password="wrong", **headers):
    return client.post("/accounts/login/", {"username": username, "password": password}, **headers)


def test_one_address_trying_many_usernames_is_locked_out(settings):
    settings.AXES_FAILURE_LIMIT = 5
    User.objects.create_user("nurse", password="right-password")
    client = Client(REMOTE_ADDR="203.0.113.7")

    answers = [portal_login(client, f"user{n}").status_code for n in range(15)]

    assert answers[:4] == [200] * 4  # the form again, "wrong password"
    assert set(answers[4:]) == {429}
    # The address is locked out, whatever the username (even a right password).
    assert portal_login(client, "nurse", "right-password").status_code == 429
    # Another address is not.
    assert portal_login(Client(REMOTE_ADDR="203.0.113.8"), "nurse", "right-password").status_code == 302


def test_behind_a_proxy_one_client_cannot_lock_a_username_out_for_everyone(settings):
    settings.BEHIND_TLS_PROXY = True
    settings.AXES_FAILURE_LIMIT = 3
    User.objects.create_user("nurse", password="right-password")
    attacker = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.66")
    nurse = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.10")

    for _ in range(5):
        portal_login(attacker, "nurse")

    assert portal_login(attacker, "nurse", "right-password").status_code == 429
    assert portal_login(nurse, "nurse", "right-password").status_code == 302


def test_behind_a_proxy_only_the_entry_the_proxy_appended_counts(settings):
    """A client-sent X-Forwarded-For arrives first in the list: changing it does not escape the lockout."""
    settings.BEHIND_TLS_PROXY = True
    settings.AXES_FAILURE_LIMIT = 3
    User.objects.create_user("nurse", password="right-password")

    for n in range(3):
        portal_login(Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}, 198.51.100.66"), "x")
    forged = Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR="192.0.2.99, 198.51.100.66")

    assert portal_login(forged, "nurse", "right-password").status_code == 429


def test_without_a_proxy_x_forwarded_for_is_ignored(settings):
    settings.AXES_FAILURE_LIMIT = 3
    User.objects.create_user("nurse", password="right-password")

    for n in range(3):
        portal_login(Client(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}"), f"user{n}")
    spoofing = Client(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="192.0.2.200")

    assert portal_login(spoofing, "nurse", "right-password").status_code == 429
