"""`/api/v1/keyword-commands`: create, list, read, change and delete an organization's keyword
commands; bad input is a 400 naming the field, nothing half-saved; other organizations' are 404."""

import pytest

from messaging.models import KeywordCommand
from tests.factories import KeywordCommandFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/keyword-commands"


def test_create_list_read_change_and_delete(api_client, organization):
    created = api_client.post(URL, {"keyword": "clinic", "action": "reply", "replyText": "Open 8-16"}, format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["keyword"], body["action"], body["replyText"], body["enabled"]) == (
        "CLINIC",
        "reply",
        "Open 8-16",
        True,
    )
    assert KeywordCommand.objects.get(pk=body["id"]).organization == organization
    assert [c["keyword"] for c in api_client.get(URL).json()["results"]] == ["CLINIC"]
    assert api_client.get(f"{URL}/{body['id']}").json()["replyText"] == "Open 8-16"

    patched = api_client.patch(f"{URL}/{body['id']}", {"enabled": False}, format="json")
    assert patched.status_code == 200 and patched.json()["enabled"] is False
    put = api_client.put(
        f"{URL}/{body['id']}", {"keyword": "MEDS", "action": "plugin_only", "pluginName": "meds"}, format="json"
    )
    assert put.status_code == 200, put.content
    assert (put.json()["keyword"], put.json()["pluginName"]) == ("MEDS", "meds")

    assert api_client.delete(f"{URL}/{body['id']}").status_code == 204
    assert not KeywordCommand.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"keyword": "two words", "action": "reply", "replyText": "x"}, "keyword"),
        ({"keyword": "", "action": "reply", "replyText": "x"}, "keyword"),
        ({"keyword": "INFO2", "action": "explode"}, "action"),
        ({"keyword": "CLINIC", "action": "reply"}, "replyText"),
        ({"keyword": "CLINIC", "action": "plugin_only"}, "pluginName"),
        ({"keyword": "STOP", "action": "reply", "replyText": "x"}, "keyword"),  # built-in opt-out
        ({"keyword": "x" * 41, "action": "ignore"}, "keyword"),
        ({"action": "ignore"}, "keyword"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_saves_nothing(api_client, organization, body, field):
    response = api_client.post(URL, body, format="json")

    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer.get("field") == field or field in answer.get("fields", {}), answer
    assert not KeywordCommand.objects.exists()


def test_a_keyword_the_organization_has_is_refused(api_client, organization):
    KeywordCommandFactory(organization=organization, keyword="CLINIC")

    response = api_client.post(URL, {"keyword": "Clinic", "action": "ignore"}, format="json")

    assert response.status_code == 400 and response.json()["field"] == "keyword"
    assert KeywordCommand.objects.count() == 1


def test_another_organizations_commands_are_invisible(api_client, other_organization):
    theirs = KeywordCommandFactory(organization=other_organization, keyword="SECRET")

    assert api_client.get(URL).json()["results"] == []
    assert api_client.get(f"{URL}/{theirs.pk}").status_code == 404
    assert api_client.patch(f"{URL}/{theirs.pk}", {"enabled": False}, format="json").status_code == 404
    assert api_client.delete(f"{URL}/{theirs.pk}").status_code == 404
    theirs.refresh_from_db()
    assert theirs.is_active


def test_the_api_is_in_the_openapi_schema(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()

    assert {"/api/v1/keyword-commands/", "/api/v1/keyword-commands/{id}/"} <= set(schema["paths"])
