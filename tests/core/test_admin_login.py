"""Signing in on the admin's own login page leads to the admin."""

import pytest

from entities.roles import organization_login_create

pytestmark = pytest.mark.django_db


def test_signing_in_at_the_admin_login_page_leads_to_the_admin_not_the_portal(client, organization):
    _, password = organization_login_create(organization=organization, email="a@example.org", username="adm")[:2]

    response = client.post("/admin/login/", {"username": "adm", "password": password})

    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_a_next_given_to_the_admin_login_is_kept(client, organization):
    _, password = organization_login_create(organization=organization, email="a@example.org", username="adm")[:2]

    response = client.post("/admin/login/?next=/admin/gateways/gateway/", {"username": "adm", "password": password})

    assert response["Location"] == "/admin/gateways/gateway/"
