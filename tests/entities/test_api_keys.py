"""API keys: hashed at rest, Bearer auth, organization-scoped."""

import pytest

from entities.authentication import api_key_authenticate
from entities.models import ApiKey
from entities.services import api_key_create

pytestmark = pytest.mark.django_db


def test_a_key_whose_secret_contains_underscores_authenticates(organization, monkeypatch):
    monkeypatch.setattr("secrets.token_urlsafe", lambda n: "ab_cd_ef-gh")
    api_key, raw = api_key_create(organization=organization)

    assert raw.count("_") > 2
    assert api_key_authenticate(raw) == api_key


def test_only_a_hash_of_the_key_is_stored(organization):
    api_key, raw = api_key_create(organization=organization)

    stored = ApiKey.objects.get(pk=api_key.pk)
    assert raw not in (stored.key_hash, stored.prefix, stored.name)
    assert stored.key_hash == ApiKey.hash(raw)


def test_a_revoked_or_altered_key_does_not_authenticate(organization):
    api_key, raw = api_key_create(organization=organization)

    assert api_key_authenticate(raw + "x") is None
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at="2026-01-01T00:00:00Z")
    assert api_key_authenticate(raw) is None


def test_revoking_a_key_in_the_admin_refuses_it_at_once(admin_client, organization):
    api_key, raw = api_key_create(organization=organization)
    assert api_key_authenticate(raw) == api_key  # now held by this process's cache

    admin_client.post("/admin/entities/apikey/", {"action": "revoke", "_selected_action": [str(api_key.pk)]})

    assert api_key_authenticate(raw) is None


def test_a_revoked_key_stays_revoked_whatever_its_change_form_posts(admin_client, organization):
    api_key, raw = api_key_create(organization=organization)
    response = admin_client.post("/admin/entities/apikey/", {"action": "revoke", "_selected_action": [str(api_key.pk)]})
    assert "1 key revoked." in [str(m) for m in response.wsgi_request._messages]

    url = f"/admin/entities/apikey/{api_key.pk}/change/"
    cleared = {"revoked_at_0": "", "revoked_at_1": ""}
    admin_client.post(url, {"organization": str(organization.pk), "name": "revived?", **cleared})

    api_key.refresh_from_db()
    assert api_key.revoked_at is not None and api_key_authenticate(raw) is None


def test_a_key_revoked_by_another_process_is_refused_within_the_cache_time(organization, monkeypatch, settings):
    now = [1000.0]
    monkeypatch.setattr("smsportal.localcache._clock", lambda: now[0])
    api_key, raw = api_key_create(organization=organization)
    assert api_key_authenticate(raw) == api_key

    # Another process revokes it: no signal reaches this one.
    ApiKey.objects.filter(pk=api_key.pk).update(revoked_at="2026-01-01T00:00:00Z")
    now[0] += settings.SMSPORTAL_LOCAL_CACHE_SECONDS + 0.1

    assert api_key_authenticate(raw) is None


def test_create_api_key_command_creates_the_org_and_prints_the_key_last(capsys):
    from django.core.management import call_command

    from entities.models import Organization

    call_command("create_api_key", "--org", "north-clinic", "--org-name", "North Clinic")

    key = capsys.readouterr().out.strip().splitlines()[-1]
    assert Organization.objects.get(slug="north-clinic").name == "North Clinic"
    assert api_key_authenticate(key).organization.slug == "north-clinic"
