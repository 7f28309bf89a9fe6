"""/api/v1/plugins/ (registrations, invocations), BioT's subscribe calls, the JWKS and key rotation."""

import jwt
import pytest
from django.core.management import call_command
from jwt import PyJWKSet

from gateways.providers.base import InboundSms
from messaging.services.inbound import inbound_receive
from plugins.models import PluginInvocation, PluginRegistration, SigningKey
from plugins.registrations import registration_create
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {
    "name": "meds",
    "url": "https://plugins.example.org/sms",
    "entityTypes": ["patient"],
    "actions": ["_incomingSms"],
    "timeoutSeconds": 5,
    "maxAttempts": 4,
}


@pytest.fixture(autouse=True)
def _public_urls(settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = False


def test_create_answers_with_the_registration_its_id_and_the_secret_once(api_client, monkeypatch):
    response = api_client.post("/api/v1/plugins/", BODY, format="json")

    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in BODY} == BODY
    assert body["enabled"] is True and body["id"] and body["kind"] == "webhook"
    assert body["webhookSecret"].startswith("whsec_")
    shown = api_client.get(f"/api/v1/plugins/{body['id']}").json()
    assert "webhookSecret" not in shown and body["webhookSecret"] not in str(api_client.get("/api/v1/plugins/").json())


def test_put_patch_and_delete(api_client):
    plugin_id = api_client.post("/api/v1/plugins/", BODY, format="json").json()["id"]

    patched = api_client.patch(f"/api/v1/plugins/{plugin_id}", {"enabled": False}, format="json").json()
    assert patched["enabled"] is False and patched["maxAttempts"] == 4
    put = api_client.put(
        f"/api/v1/plugins/{plugin_id}", {**BODY, "entityTypes": ["caregiver", "patient"]}, format="json"
    ).json()
    assert put["entityTypes"] == ["caregiver", "patient"] and put["enabled"] is True
    assert api_client.delete(f"/api/v1/plugins/{plugin_id}").status_code == 204
    assert not PluginRegistration.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"url": "http://plugins.example.org/sms"}, "url"),
        ({"url": "https://127.0.0.1/sms"}, "url"),
        ({"url": "https://10.0.0.8/sms"}, "url"),
        ({"entityTypes": ["device"]}, "entityTypes"),
        ({"actions": ["_nope"]}, "actions"),
        ({"url": "", "handler": "os.system"}, "handler"),
        ({"handler": "plugins.builtin.record_only"}, "url"),
    ],
)
def test_invalid_registration_is_400_naming_the_field(api_client, change, field):
    response = api_client.post("/api/v1/plugins/", {**BODY, **change}, format="json")

    assert response.status_code == 400
    body = response.json()
    assert body.get("field") == field or field in body.get("fields", {})
    assert not PluginRegistration.objects.exists()


def test_unknown_entity_type_error_reads_cleanly(api_client):
    response = api_client.post("/api/v1/plugins/", {**BODY, "entityTypes": ["dog"]}, format="json")

    body = response.json()
    assert response.status_code == 400 and body["field"] == "entityTypes[0]"
    assert body["error"] == 'entityTypes[0]: "dog" is not a valid choice.'
    assert "ErrorDetail" not in str(body) and "{" not in body["error"]


@pytest.mark.parametrize("query", ["status=bogus", "action=_nope"])
def test_unknown_invocation_status_or_action_filter_is_400_naming_it(api_client, query):
    response = api_client.get(f"/api/v1/plugins/invocations/?{query}")

    name = query.partition("=")[0]
    assert response.status_code == 400 and response.json()["field"] == name
    assert response.json()["error"].startswith(f"{name}: must be one of ")


def test_admin_never_shows_any_part_of_the_webhook_secret(admin_client, organization, settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    registration, secret = registration_create(
        organization=organization,
        name="hook",
        url="http://127.0.0.1:9/plugin",
        entity_types=["patient"],
        actions=["_incomingSms"],
    )

    page = admin_client.get(f"/admin/plugins/pluginregistration/{registration.id}/change/").content.decode()

    assert "set (hidden)" in page
    assert "whsec_" not in page and secret.removeprefix("whsec_")[-8:] not in page


def test_builtin_handler_registration(api_client):
    response = api_client.post(
        "/api/v1/plugins/", {**BODY, "url": "", "handler": "plugins.builtin.record_only"}, format="json"
    )

    assert response.status_code == 201
    assert response.json()["kind"] == "handler" and "webhookSecret" not in response.json()


def test_duplicate_name_is_400(api_client):
    api_client.post("/api/v1/plugins/", BODY, format="json")

    response = api_client.post("/api/v1/plugins/", BODY, format="json")

    assert response.status_code == 400 and response.json()["field"] == "name"


def test_another_organizations_plugin_is_404(api_client, other_api_client):
    plugin_id = api_client.post("/api/v1/plugins/", BODY, format="json").json()["id"]

    assert other_api_client.get(f"/api/v1/plugins/{plugin_id}").status_code == 404
    assert other_api_client.patch(f"/api/v1/plugins/{plugin_id}", {"enabled": False}, format="json").status_code == 404
    assert other_api_client.delete(f"/api/v1/plugins/{plugin_id}").status_code == 404
    assert other_api_client.get("/api/v1/plugins/").json()["results"] == []


def test_biot_subscriptions_are_each_their_own(api_client, organization):
    """An endpoint gets exactly the (entity type, action) pairs it subscribed to, never their mix."""
    from plugins.registrations import registrations_enabled

    hook = "https://biot.example.org/hook"
    replies = {"entityTypeName": "patient", "actionName": "_incomingSms", "endpoint": hook}
    statuses = {"entityTypeName": "caregiver", "actionName": "_smsStatus", "endpoint": hook}
    subscribe, unsubscribe = (
        "/dispatcher/v1/hooks/notifications/subscribe",
        "/dispatcher/v1/hooks/notifications/unsubscribe",
    )

    first = api_client.post(subscribe, replies, format="json")
    second = api_client.post(subscribe, statuses, format="json")
    repeated = api_client.post(subscribe, replies, format="json")

    assert first.status_code == second.status_code == repeated.status_code == 200
    assert first.json()["webhookSecret"].startswith("whsec_") and "webhookSecret" not in second.json()
    assert repeated.json()["id"] == first.json()["id"]

    def served() -> set:
        return {
            (t, a)
            for r in registrations_enabled(organization_id=organization.pk)
            for t in r.entity_types
            for a in r.actions
            if r.url == hook
        }

    assert served() == {("patient", "_incomingSms"), ("caregiver", "_smsStatus")}
    secrets = {r.webhook_secret for r in PluginRegistration.objects.filter(url=hook)}
    assert secrets == {first.json()["webhookSecret"]}  # one secret for the endpoint's calls

    assert api_client.post(unsubscribe, replies, format="json").status_code == 204
    assert served() == {("caregiver", "_smsStatus")}
    assert api_client.post(unsubscribe, replies, format="json").status_code == 404
    assert api_client.post(subscribe, replies, format="json").status_code == 200
    assert served() == {("patient", "_incomingSms"), ("caregiver", "_smsStatus")}


def test_invocations_are_listed_filtered_and_can_be_retried(api_client, organization, settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    settings.SMSPORTAL_PLUGIN_RETRY_BASE_SECONDS = 0.01
    PatientFactory(organization=organization, phone="+12025550111")
    registration, _ = registration_create(
        organization=organization,
        name="down",
        url="http://127.0.0.1:9/plugin",
        entity_types=["patient"],
        actions=["_incomingSms"],
        max_attempts=1,
    )
    message, _ = inbound_receive(
        organization=organization,
        gateway=None,
        sms=InboundSms(sender="+12025550111", recipient="", text="1", provider_message_id="p1"),
    )

    listed = api_client.get(f"/api/v1/plugins/invocations/?status=failed&inboundMessageId={message.id}").json()
    (item,) = listed["results"]
    assert (item["pluginName"], item["attempts"], item["lastError"]) == ("down", 1, "connection failed")
    assert api_client.get("/api/v1/plugins/invocations/?status=succeeded").json()["results"] == []

    retried = api_client.post(f"/api/v1/plugins/invocations/{item['id']}/retry")

    assert retried.status_code == 200
    invocation = PluginInvocation.objects.get()
    assert invocation.attempts == 2 and invocation.status == "failed"


def test_jwks_publishes_old_keys_until_they_expire_after_rotation(client, organization):
    registration, _ = registration_create(
        organization=organization,
        name="p",
        url="https://plugins.example.org/x",
        entity_types=["patient"],
        actions=["_incomingSms"],
    )
    from plugins.signing import plugin_token

    old_token = plugin_token(
        registration=registration, organization_id=organization.id, payload_without_jwt={}, jti="a"
    )

    call_command("rotate_signing_key", "--overlap", "600")

    new_token = plugin_token(
        registration=registration, organization_id=organization.id, payload_without_jwt={}, jti="b"
    )
    jwks = client.get("/.well-known/jwks.json").json()
    keys = PyJWKSet.from_dict(jwks)
    assert len(jwks["keys"]) == 2 and all(k["alg"] == "RS512" and "d" not in k for k in jwks["keys"])
    for token in (old_token, new_token):
        kid = jwt.get_unverified_header(token)["kid"]
        jwt.decode(token, keys[kid].key, algorithms=["RS512"], audience=str(registration.id))
    assert jwt.get_unverified_header(old_token)["kid"] != jwt.get_unverified_header(new_token)["kid"]

    SigningKey.objects.exclude(expires_at=None).update(expires_at="2000-01-01T00:00:00Z")
    assert len(client.get("/.well-known/jwks.json").json()["keys"]) == 1


def test_signing_key_is_encrypted_at_rest(organization):
    from django.db import connection

    from plugins.signing import signing_key_current

    key = signing_key_current()
    with connection.cursor() as cursor:
        cursor.execute("SELECT private_key_pem FROM plugins_signingkey WHERE kid = %s", [key.kid])
        raw = cursor.fetchone()[0]
    assert "PRIVATE KEY" not in raw and "PRIVATE KEY" in key.private_key_pem


def test_admin_lists_inbound_messages_and_invocations_and_retries(admin_client, organization, settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    PatientFactory(organization=organization, phone="+12025550111")
    registration_create(
        organization=organization,
        name="down",
        url="http://127.0.0.1:9/plugin",
        entity_types=["patient"],
        actions=["_incomingSms"],
        max_attempts=1,
    )
    inbound_receive(
        organization=organization,
        gateway=None,
        sms=InboundSms(sender="+12025550111", recipient="", text="1", provider_message_id="p1"),
    )
    invocation = PluginInvocation.objects.get()

    assert admin_client.get("/admin/messaging/inboundmessage/?status=processed").status_code == 200
    assert admin_client.get("/admin/plugins/plugininvocation/?status=failed").status_code == 200
    assert (
        admin_client.get(f"/admin/plugins/pluginregistration/{invocation.registration_id}/change/").status_code == 200
    )
    response = admin_client.post(
        "/admin/plugins/plugininvocation/", {"action": "retry_now", "_selected_action": [str(invocation.id)]}
    )

    assert response.status_code == 302
    invocation.refresh_from_db()
    assert invocation.attempts == 2


def test_an_invocation_pointing_at_another_organizations_plugin_is_never_called(
    organization, other_organization, settings
):
    from tests.plugins.receiver import PluginReceiver

    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    receiver = PluginReceiver()
    try:
        PatientFactory(organization=organization, phone="+12025550111")
        registration_create(
            organization=organization, name="a", url=receiver.url, entity_types=["patient"], actions=["_incomingSms"]
        )
        other, _ = registration_create(
            organization=other_organization,
            name="b",
            url=receiver.url,
            entity_types=["patient"],
            actions=["_incomingSms"],
        )
        inbound_receive(
            organization=organization,
            gateway=None,
            sms=InboundSms(sender="+12025550111", recipient="", text="1", provider_message_id="p1"),
        )
        receiver.wait_for(1)
        # A tampered row: organization A's event, organization B's plugin.
        from plugins.runner import plugin_invocation_run

        tampered = PluginInvocation.objects.get()
        PluginInvocation.objects.filter(pk=tampered.pk).update(registration=other, status="pending")

        plugin_invocation_run(invocation_id=tampered.pk)

        tampered.refresh_from_db()
        assert (tampered.status, tampered.last_error) == ("failed", "organization mismatch")
        assert len(receiver.calls) == 1
    finally:
        receiver.close()
