"""DHIS2's /api/sms/outbound as a DHIS2 client uses it (DHIS2's SMS Web API; docs/api.md)."""

import base64

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from gateways.providers.simulator import SimulatorAdapter
from messaging.models import OptOut, OutboundMessage
from tests.factories import GatewayFactory, OrganizationUserFactory

pytestmark = pytest.mark.django_db(transaction=True)

URL = "/api/sms/outbound"


def test_json_send_answers_each_recipients_message_id_and_sends(api_client, gateway):
    response = api_client.post(
        URL, {"message": "Clinic closed Monday", "recipients": ["+4791234567", "004791234568"]}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["httpStatus"] == "OK" and body["httpStatusCode"] == 200 and body["status"] == "OK"
    assert "accepted" in body["message"]
    by_recipient = {m["recipient"]: m["id"] for m in body["response"]["messages"]}
    assert set(by_recipient) == {"+4791234567", "+4791234568"}  # a leading 00 means +
    for recipient, message_id in by_recipient.items():
        assert OutboundMessage.objects.get(pk=message_id, recipient=recipient).status == "sent"
    assert sorted(m.to for m in SimulatorAdapter.outbox) == ["+4791234567", "+4791234568"]


def test_duplicate_recipients_collapse_and_unknown_keys_are_ignored(api_client, gateway):
    response = api_client.post(
        URL, {"message": "Hi", "recipients": ["+4791234567", "+4791234567"], "smspriority": 1}, format="json"
    )

    assert response.status_code == 200
    assert len(response.json()["response"]["messages"]) == 1


def test_query_parameter_form_sends_one_recipient(api_client, gateway):
    response = api_client.post(f"{URL}?recipient=%2B4791234567&message=Hello+there")

    assert response.status_code == 200, response.content
    message = OutboundMessage.objects.get()
    assert message.recipient == "+4791234567" and message.body == "Hello there" and message.source == "dhis2_api"


def test_query_form_does_not_split_on_commas(api_client, gateway):
    response = api_client.post(f"{URL}?recipient=%2B4791234567,%2B4791234568&message=Hi")

    assert response.status_code == 409  # one (invalid) recipient, not two
    assert OutboundMessage.objects.count() == 0


@pytest.mark.parametrize(
    "query, message",
    [
        ("message=Hi", "Recipient must be specified"),
        ("recipient=&message=", "Recipient must be specified"),  # recipient is checked first
        ("recipient=%2B4791234567", "Message must be specified"),
    ],
)
def test_query_form_missing_parts_are_dhis2_conflicts(api_client, gateway, query, message):
    response = api_client.post(f"{URL}?{query}")

    assert response.status_code == 409
    assert response.json()["message"] == message and response.json()["errorCode"] == "E1004"
    assert OutboundMessage.objects.count() == 0


def test_version_prefix_answers_the_same(api_client, gateway):
    response = api_client.post("/api/41/sms/outbound", {"message": "Hi", "recipients": ["+4791234567"]}, format="json")

    assert response.status_code == 200
    assert api_client.get("/api/26/sms/outbound").status_code == 200


def test_no_gateway_is_dhis2s_error_and_nothing_is_queued(api_client):
    response = api_client.post(URL, {"message": "Hi", "recipients": ["+4791234567"]}, format="json")

    assert response.status_code == 409
    assert response.json()["message"] == "No default gateway configured"
    assert response.json()["status"] == "ERROR"
    assert OutboundMessage.objects.count() == 0


def test_text_over_the_length_limit_is_refused(api_client, gateway, settings):
    settings.SMSPORTAL_DHIS2_MAX_SMS_LENGTH = 20

    response = api_client.post(URL, {"message": "x" * 21, "recipients": ["+4791234567"]}, format="json")

    assert response.status_code == 409
    assert response.json()["message"] == "Sms text message is too long"  # DHIS2's text, exactly
    assert response.json()["response"] == {"field": "message", "reason": "21 characters, the limit is 20"}
    assert OutboundMessage.objects.count() == 0


@pytest.mark.parametrize(
    "payload, status, field",
    [
        ({"message": "Hi", "recipients": []}, 409, "recipients"),
        ({"message": "Hi"}, 409, "recipients"),
        ({"recipients": ["+4791234567"]}, 409, "message"),
        ({"message": "Hi", "recipients": "+4791234567"}, 400, "recipients"),
        ({"message": "Hi", "recipients": [{"n": 1}]}, 400, "recipients"),
        ({"message": 5, "recipients": ["+4791234567"]}, 400, "message"),
        ({"message": "Hi", "recipients": ["not a number"]}, 409, "recipients"),
    ],
)
def test_bad_json_input_names_the_field_and_saves_nothing(api_client, gateway, payload, status, field):
    response = api_client.post(URL, payload, format="json")

    assert response.status_code == status, response.content
    assert response.json()["response"]["field"] == field
    assert OutboundMessage.objects.count() == 0


def test_malformed_json_is_a_400_web_message(api_client, gateway):
    response = api_client.post(URL, '{"message": ', content_type="application/json")

    assert response.status_code == 400
    assert response.json()["httpStatusCode"] == 400 and response.json()["status"] == "ERROR"
    assert response.json()["response"]["field"] == "body"
    assert OutboundMessage.objects.count() == 0


def test_invalid_and_opted_out_recipients_are_listed_with_the_reason(api_client, gateway, organization):
    OptOut.objects.create(organization=organization, phone_number="+4791234568")

    response = api_client.post(
        URL, {"message": "Hi", "recipients": ["+4791234567", "+4791234568", "12"]}, format="json"
    )

    body = response.json()
    assert response.status_code == 200 and body["status"] == "OK"  # accepted; refusals listed
    refused = {r["recipient"]: r for r in body["response"]["refused"]}
    assert refused["+4791234568"]["reason"] == "opted out"
    assert OutboundMessage.objects.get(pk=refused["+4791234568"]["id"]).status == "failed"
    assert "international format" in refused["12"]["reason"]
    assert [m.to for m in SimulatorAdapter.outbox] == ["+4791234567"]


def test_recipients_reach_the_gateway_in_slices_of_at_most_200(api_client, gateway, monkeypatch):
    calls = []
    original = SimulatorAdapter.send_batch

    def spy(self, messages):
        calls.append(len(messages))
        return original(self, messages)

    monkeypatch.setattr(SimulatorAdapter, "send_batch", spy)
    recipients = [f"+1202555{n:04d}" for n in range(450)]

    response = api_client.post(URL, {"message": "Hi", "recipients": recipients}, format="json")

    assert response.status_code == 200
    assert sum(calls) == 450 and max(calls) <= 200
    assert OutboundMessage.objects.filter(status="sent").count() == 450


def _send(api_client, n=3):
    recipients = [f"+4791234{n:03d}" for n in range(n)]
    return api_client.post(URL, {"message": "Hi", "recipients": recipients}, format="json").json()["response"]


def test_list_is_paged_with_dhis2s_pager_and_default_fields(api_client, gateway):
    _send(api_client, 3)

    body = api_client.get(URL, {"pageSize": 2, "page": 2}).json()

    assert body["pager"] == {"page": 2, "pageCount": 2, "total": 3, "pageSize": 2}
    assert len(body["outboundsmss"]) == 1
    assert set(body["outboundsmss"][0]) == {"id", "displayName"}


def test_list_fields_star_filter_by_status_and_no_paging(api_client, gateway):
    sent = _send(api_client, 2)["messages"]
    OutboundMessage.objects.filter(pk=sent[0]["id"]).update(status="failed", error_reason="rejected")

    failed = api_client.get(URL, {"filter": "status:eq:FAILED", "fields": "*"}).json()["outboundsmss"]
    all_of_them = api_client.get(URL, {"paging": "false", "fields": "id,status"}).json()

    assert [m["id"] for m in failed] == [sent[0]["id"]]
    assert failed[0]["status"] == "FAILED" and failed[0]["deliveryStatus"] == "failed"
    assert failed[0]["errorReason"] == "rejected" and failed[0]["recipients"] == [sent[0]["recipient"]]
    assert "pager" not in all_of_them and len(all_of_them["outboundsmss"]) == 2


@pytest.mark.parametrize(
    "params, field",
    [({"page": "x"}, "page"), ({"pageSize": "0"}, "pageSize"), ({"filter": "status:eq:BOGUS"}, "filter")],
)
def test_bad_list_parameters_are_400s_naming_them(api_client, gateway, params, field):
    response = api_client.get(URL, params)

    assert response.status_code == 400
    assert response.json()["response"]["field"] == field


def test_get_and_delete_one(api_client, gateway):
    message_id = _send(api_client, 1)["messages"][0]["id"]

    got = api_client.get(f"{URL}/{message_id}")
    deleted = api_client.delete(f"{URL}/{message_id}")
    again = api_client.delete(f"{URL}/{message_id}")

    assert got.status_code == 200 and got.json()["id"] == message_id and got.json()["status"] == "SENT"
    assert deleted.status_code == 200 and deleted.json()["message"] == f"OutboundSms with {message_id} deleted"
    assert again.status_code == 404
    assert again.json()["message"] == f"No OutboundSms with id '{message_id}' was found."
    assert not OutboundMessage.objects.filter(pk=message_id).exists()


def test_unknown_id_is_a_dhis2_404(api_client, gateway):
    response = api_client.get(f"{URL}/not-a-uid")

    assert response.status_code == 404
    assert response.json()["errorCode"] == "E1005"
    assert response.json()["message"] == "OutboundSms with id not-a-uid could not be found."


def test_delete_many_ignores_unknown_ids(api_client, gateway):
    ids = [m["id"] for m in _send(api_client, 3)["messages"]]

    response = api_client.delete(f"{URL}?ids={ids[0]},{ids[1]},00000000-0000-0000-0000-000000000000,junk")

    assert response.status_code == 200 and response.json()["message"] == "Objects deleted"
    assert list(OutboundMessage.objects.values_list("id", flat=True)) == [OutboundMessage.objects.get().id]


def test_another_organizations_messages_are_invisible(api_client, other_api_client, gateway, other_organization):
    message_id = _send(api_client, 1)["messages"][0]["id"]

    assert other_api_client.get(f"{URL}/{message_id}").status_code == 404
    assert other_api_client.delete(f"{URL}/{message_id}").status_code == 404
    other_api_client.delete(f"{URL}?ids={message_id}")
    assert other_api_client.get(URL).json()["pager"]["total"] == 0
    assert OutboundMessage.objects.filter(pk=message_id).exists()


def test_dhis2_clients_authenticate_with_basic_auth(organization, gateway):
    user = User.objects.create_user("dhis2", password="district")
    OrganizationUserFactory(organization=organization, user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"dhis2:district").decode())

    response = client.post(URL, {"message": "Hi", "recipients": ["+4791234567"]}, format="json")

    assert response.status_code == 200


def test_wrong_credentials_are_a_401_web_message(gateway):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic " + base64.b64encode(b"dhis2:wrong").decode())

    response = client.get(URL)

    assert response.status_code == 401
    assert response.json()["httpStatusCode"] == 401 and response.json()["status"] == "ERROR"
    assert response.json()["response"]["field"] == "Authorization"


def test_a_message_sent_by_a_gateway_of_another_org_is_not_used(api_client, other_organization):
    GatewayFactory(organization=other_organization)

    response = api_client.post(URL, {"message": "Hi", "recipients": ["+4791234567"]}, format="json")

    assert response.status_code == 409


def test_too_many_recipients_is_a_400_and_nothing_is_saved(api_client, gateway, settings):
    settings.SMSPORTAL_MAX_RECIPIENTS = 3

    response = api_client.post(URL, {"message": "Hi", "recipients": ["+4791234567"] * 4}, format="json")

    assert response.status_code == 400 and response.json()["response"]["field"] == "recipients"
    assert OutboundMessage.objects.count() == 0


def test_oversized_body_is_a_413_web_message(api_client, gateway, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000

    response = api_client.post(URL, {"message": "x" * 2000, "recipients": ["+4791234567"]}, format="json")

    assert response.status_code == 413 and response.json()["httpStatusCode"] == 413
    assert OutboundMessage.objects.count() == 0


def test_a_large_send_refuses_opted_out_recipients_among_thousands(api_client, gateway, organization):
    OptOut.objects.create(organization=organization, phone_number="+12025551234")
    recipients = [f"+1202555{n:04d}" for n in range(1500)]

    body = api_client.post(URL, {"message": "Hi", "recipients": recipients}, format="json").json()["response"]

    assert body["queued"] == 1499
    assert [r["recipient"] for r in body["refused"]] == ["+12025551234"]
    assert OutboundMessage.objects.get(recipient="+12025551234").status == "failed"


def test_idempotency_key_replays_the_first_answer_and_sends_once(api_client, gateway):
    payload = {"message": "Clinic closed Monday", "recipients": ["+4791234567", "+4791234568"]}
    first = api_client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")
    again = api_client.post(URL, payload, format="json", HTTP_IDEMPOTENCY_KEY="abc-1")

    assert first.status_code == again.status_code == 200, again.content
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert OutboundMessage.objects.values("batch_id").distinct().count() == 1
    assert OutboundMessage.objects.count() == 2 and len(SimulatorAdapter.outbox) == 2


def test_idempotency_key_with_another_body_or_query_is_a_409(api_client, gateway):
    first = api_client.post(
        URL, {"message": "Hi", "recipients": ["+4791234567"]}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    other = api_client.post(
        URL, {"message": "Bye", "recipients": ["+4791234567"]}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )
    query = api_client.post(f"{URL}?recipient=%2B4791234567&message=Hi", HTTP_IDEMPOTENCY_KEY="k")

    assert first.status_code == 200
    for response in (other, query):
        assert response.status_code == 409, response.content
        assert response.json()["response"]["field"] == "Idempotency-Key"
    assert OutboundMessage.objects.count() == 1


def test_idempotency_key_is_shared_with_the_biot_send(api_client, gateway):
    biot = api_client.post(
        "/notification/v1/sms/send",
        {"message": "Hi", "phoneNumber": "+4791234567"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k",
    )
    dhis2 = api_client.post(
        URL, {"message": "Hi", "recipients": ["+4791234567"]}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert biot.status_code == 200 and dhis2.status_code == 409  # one key, one request
    assert OutboundMessage.objects.count() == 1


def test_detail_honours_fields_and_timestamps_carry_a_zone(api_client, gateway):
    sent = api_client.post(URL, {"message": "Hi", "recipients": ["+4791234567"]}, format="json")
    uid = sent.json()["response"]["messages"][0]["id"]

    picked = api_client.get(f"{URL}/{uid}?fields=id,status")
    whole = api_client.get(f"{URL}/{uid}")

    assert picked.status_code == 200 and picked.json() == {"id": uid, "status": "SENT"}
    from datetime import datetime

    for key in ("created", "lastUpdated", "date"):
        value = whole.json()[key]
        assert value.endswith("Z"), value
        assert datetime.fromisoformat(value).utcoffset().total_seconds() == 0


def test_a_repeated_invalid_recipient_is_refused_once(api_client, gateway):
    response = api_client.post(
        URL, {"message": "Hi", "recipients": ["+4791234567", "+4712341234", "+4712341234"]}, format="json"
    )

    refused = response.json()["response"]["refused"]
    assert [r["recipient"] for r in refused] == ["+4712341234"]


def test_an_invalid_number_says_why_and_shows_the_expected_form(api_client, gateway):
    response = api_client.post(URL, {"message": "Hi", "recipients": ["+4712341234"]}, format="json")

    assert response.status_code == 409
    reason = response.json()["response"]["refused"][0]["reason"]
    assert "numbering plan of NO (+47)" in reason
    assert "expected e.g. +47" in reason
    assert OutboundMessage.objects.count() == 0
