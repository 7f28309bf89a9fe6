"""A newcomer's first requests: `/` leads to the portal (or its login), there is a favicon, and
404/500 pages come in the portal's look when DEBUG is off (JSON for the API)."""

import pytest
from django.test import Client
from django.urls import path

from smsportal.urls import urlpatterns as site_urlpatterns

pytestmark = pytest.mark.django_db


def test_the_root_leads_to_the_portal_login_when_signed_out():
    client = Client()

    response = client.get("/", follow=True)

    assert response.redirect_chain[0] == ("/portal/", 302)
    assert response.request["PATH_INFO"] == "/accounts/login/" and response.status_code == 200


def test_the_root_leads_to_today_when_signed_in(staff):
    response = staff.get("/", follow=True)

    assert response.status_code == 200 and b"<h1>Today" in response.content


def test_favicon_is_served_and_linked(staff, settings):
    response = Client().get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("portal/favicon.svg")
    page = staff.get("/portal/").content.decode()
    assert 'rel="icon" href="/static/portal/favicon.svg"' in page
    login = Client().get("/accounts/login/").content.decode()
    assert "portal/favicon.svg" in login


def test_404_is_a_portal_page_with_debug_off(settings):
    settings.DEBUG = False

    response = Client().get("/no/such/page")

    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body and "portal.css" in body and 'href="/portal/"' in body
    assert "Traceback" not in body and "urlpatterns" not in body


def test_api_404_stays_json(settings, api_client):
    settings.DEBUG = False

    response = api_client.get("/api/v1/no-such-endpoint")

    assert response.status_code == 404 and response.json()["error"].startswith("no API endpoint")


def _boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("boom", _boom), *site_urlpatterns]
handler404 = "smsportal.exceptions.page_not_found"
handler500 = "smsportal.exceptions.server_error"


@pytest.mark.urls(__name__)
def test_500_is_a_portal_page_with_debug_off(settings):
    settings.DEBUG = False

    response = Client(raise_request_exception=False).get("/boom")

    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong" in body and "portal.css" in body and "boom" not in body
