"""`/api/v1/message-templates`: an organization's texts by language through the API, with the
admin's rules (placeholders per kind, the segment limit, one per kind and locale); bad input is a 4xx
naming the field with nothing saved; another organization's templates are invisible; every change
is in the audit trail; and what is saved is what the next message says."""

import pytest

from audit.models import AuditEntry
from messaging.message_templates import PLACEHOLDERS, MessageTemplate, template_render

pytestmark = pytest.mark.django_db

URL = "/api/v1/message-templates"
SPANISH = "Hola {first_name}, es hora de su {medication} ({dose_time}). Responda 1 cuando la tome."


def test_a_template_added_by_api_is_what_the_next_reminder_says_until_it_is_deleted(api_client, organization):
    created = api_client.post(URL, {"kind": "reminder", "locale": "ES_MX", "text": SPANISH}, format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["kind"], body["locale"], body["text"]) == ("reminder", "es-mx", SPANISH)
    assert body["preview"]["segments"] == 1 and "Alexandra" in body["preview"]["text"]
    assert MessageTemplate.objects.get(pk=body["id"]).organization == organization
    said = template_render(
        organization, "reminder", "es-MX", first_name="Ana", medication="Metformina", dose_time="08:00"
    )
    assert said == "Hola Ana, es hora de su Metformina (08:00). Responda 1 cuando la tome."

    patched = api_client.patch(f"{URL}/{body['id']}", {"text": "Ana: {medication}"}, format="json")
    assert patched.status_code == 200 and patched.json()["text"] == "Ana: {medication}"
    assert [t["locale"] for t in api_client.get(URL, {"kind": "reminder"}).json()["results"]] == ["es-mx"]
    assert api_client.get(URL, {"locale": "fr"}).json()["results"] == []
    assert api_client.get(f"{URL}/{body['id']}").json()["text"] == "Ana: {medication}"

    assert api_client.delete(f"{URL}/{body['id']}").status_code == 204
    fallback = template_render(organization, "reminder", "es-mx", first_name="Ana", medication="M", dose_time="08:00")
    assert fallback.startswith("Hi Ana")  # the built-in English text again
    trail = AuditEntry.objects.filter(content_type__model="messagetemplate", object_pk=str(body["id"]))
    actions = list(trail.filter(organization_id=organization.pk).values_list("action", flat=True))
    assert sorted(actions) == [0, 1, 2]  # created, changed, deleted


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "reminder", "locale": "es", "text": "Hola {nombre}"}, "text"),  # not a reminder placeholder
        ({"kind": "opt_out", "locale": "es", "text": "Baja {medication}"}, "text"),  # a reminder's, not opt-out's
        ({"kind": "reminder", "locale": "es", "text": "Hola {first_name"}, "text"),
        ({"kind": "reminder", "locale": "es", "text": "x" * 1601}, "text"),
        ({"kind": "reminder", "locale": "es", "text": "Dosis " * 200}, "text"),  # over the segment limit
        ({"kind": "reminder", "locale": "es", "text": "   "}, "text"),
        ({"kind": "reminder", "locale": "spanish!", "text": "Hola"}, "locale"),
        ({"kind": "reminder", "locale": "", "text": "Hola"}, "locale"),
        ({"kind": "birthday", "locale": "es", "text": "Hola"}, "kind"),
        ({"locale": "es", "text": "Hola"}, "kind"),
        ({"kind": ["reminder"], "locale": "es", "text": "Hola"}, "kind"),
        ({"kind": "reminder", "locale": {"es": 1}, "text": "Hola"}, "locale"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_saves_nothing(api_client, organization, body, field):
    response = api_client.post(URL, body, format="json")

    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer.get("field") == field or field in answer.get("fields", {}), answer
    assert not MessageTemplate.objects.exists()


def test_a_second_template_of_a_kind_and_locale_is_a_409_naming_the_locale(api_client, organization):
    MessageTemplate.objects.create(organization=organization, kind="help", locale="es", text="Ayuda: {contact}")

    response = api_client.post(URL, {"kind": "help", "locale": "ES", "text": "Otra"}, format="json")

    assert response.status_code == 409 and response.json()["field"] == "locale", response.content
    assert MessageTemplate.objects.get().text == "Ayuda: {contact}"


def test_another_organizations_templates_are_invisible_and_untouchable(api_client, other_organization):
    theirs = MessageTemplate.objects.create(organization=other_organization, kind="help", locale="es", text="SECRET")

    assert api_client.get(URL).json()["results"] == []
    assert api_client.get(f"{URL}/{theirs.pk}").status_code == 404
    assert api_client.patch(f"{URL}/{theirs.pk}", {"text": "mine now"}, format="json").status_code == 404
    assert api_client.delete(f"{URL}/{theirs.pk}").status_code == 404
    theirs.refresh_from_db()
    assert theirs.text == "SECRET"


def test_the_same_kind_and_locale_in_two_organizations_is_fine(api_client, other_api_client):
    body = {"kind": "help", "locale": "es", "text": "Ayuda"}

    assert api_client.post(URL, body, format="json").status_code == 201
    assert other_api_client.post(URL, body, format="json").status_code == 201


def test_kinds_list_every_kind_with_its_placeholders_and_built_in_text(api_client):
    kinds = {k["kind"]: k for k in api_client.get(f"{URL}/kinds").json()}

    assert set(kinds) == set(PLACEHOLDERS)
    assert "medication" in kinds["reminder"]["placeholders"] and "{medication}" in kinds["reminder"]["builtInText"]
    assert "medication" not in kinds["opt_out"]["placeholders"]


def test_the_api_is_in_the_openapi_schema(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    assert {
        "/api/v1/message-templates/",
        "/api/v1/message-templates/{id}/",
        "/api/v1/message-templates/kinds/",
    } <= set(schema["paths"])
