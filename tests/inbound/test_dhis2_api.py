"""DHIS2 /api/sms/inbound: the JSON and query forms, listing, deleting, and DHIS2's error answers."""

import pytest

from messaging.models import InboundMessage
from tests.factories import GatewayFactory, PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)


def post_json(client, body, path="/api/sms/inbound"):
    return client.post(path, body, format="json")


def test_json_submission_is_stored_routed_and_answered_with_its_id(api_client, organization, gateway):
    patient = PatientFactory(organization=organization, phone="+4712341234")

    response = post_json(
        api_client,
        {
            "text": "1",
            "originator": "004712341234",
            "gatewayid": "unknown",
            "receiveddate": "2016-05-01",
            "sentdate": "2016-05-01T10:00:00.000+0000",
            "smsencoding": "1",
            "smspriority": "1",
        },
    )

    assert response.status_code == 200
    message = InboundMessage.objects.get()
    assert response.json() == {
        "httpStatus": "OK",
        "httpStatusCode": 200,
        "status": "OK",
        "message": f"Received SMS: {message.id}",
    }
    assert (message.originator, message.gateway_label, message.encoding) == ("+4712341234", "unknown", "ENC8BIT")
    assert message.received_at.isoformat() == "2016-05-01T00:00:00+00:00"
    assert message.sent_at.isoformat() == "2016-05-01T10:00:00+00:00"
    assert message.status == "processed" and message.entity_id == patient.id


def test_json_defaults_gateway_to_default(api_client, organization):
    post_json(api_client, {"text": "hi", "originator": "+4712341234"})

    message = InboundMessage.objects.get()
    assert (message.gateway_label, message.encoding) == ("default", "ENC7BIT")


def test_query_form_accepts_received_time_and_the_seeds_receive_time(api_client, organization):
    r1 = api_client.post("/api/26/sms/inbound?originator=%2B4712341234&message=hi&receivedTime=2016-05-01")
    r2 = api_client.post("/api/sms/inbound?originator=%2B4712341235&message=yo&receiveTime=2016-05-02T08:00:00Z")

    assert (r1.status_code, r2.status_code) == (200, 200)
    by_sender = {m.originator: m for m in InboundMessage.objects.all()}
    assert by_sender["+4712341234"].gateway_label == "Unknown"
    assert by_sender["+4712341234"].received_at.date().isoformat() == "2016-05-01"
    assert by_sender["+4712341235"].received_at.isoformat() == "2016-05-02T08:00:00+00:00"


@pytest.mark.parametrize(
    ("query", "message", "field"),
    [
        ("message=hi", "Originator must be specified", "originator"),
        ("originator=&message=", "Originator must be specified", "originator"),
        ("originator=%2B4712341234", "Message must be specified", "message"),
        ("originator=%2B4712341234&message=%20", "Message must be specified", "message"),
    ],
)
def test_missing_originator_or_text_is_dhis2s_409(api_client, organization, query, message, field):
    response = api_client.post(f"/api/sms/inbound?{query}")

    assert response.status_code == 409
    assert response.json() == {
        "httpStatus": "Conflict",
        "httpStatusCode": 409,
        "status": "ERROR",
        "message": message,
        "response": {"field": field},
        "errorCode": "E1004",
    }
    assert InboundMessage.objects.count() == 0


def test_json_missing_text_is_409_naming_text(api_client, organization):
    response = post_json(api_client, {"originator": "+4712341234"})

    assert response.status_code == 409 and response.json()["message"] == "Message must be specified"
    assert response.json()["response"] == {"field": "text"}


@pytest.mark.parametrize(
    "body",
    [
        {"text": 1, "originator": "+4712341234"},
        {"text": ["hi"], "originator": "+4712341234"},
        {"text": "hi", "originator": 4712341234},
        {"text": "hi", "originator": {"n": "+4712341234"}},
    ],
)
def test_json_non_string_text_or_originator_is_400_naming_it(api_client, organization, body):
    field = "text" if not isinstance(body["text"], str) else "originator"

    response = post_json(api_client, body)

    assert response.status_code == 400
    assert response.json()["response"] == {"field": field}
    assert response.json()["message"] == f"{field} must be a string"
    assert InboundMessage.objects.count() == 0


@pytest.mark.parametrize("field", ["receiveddate", "sentdate"])
def test_unparseable_date_is_400_naming_the_field(api_client, organization, field):
    response = post_json(api_client, {"text": "hi", "originator": "+4712341234", field: "yesterday"})

    assert response.status_code == 400
    assert response.json()["response"] == {"field": field}
    assert InboundMessage.objects.count() == 0


def test_unparseable_query_time_is_400(api_client, organization):
    response = api_client.post("/api/sms/inbound?originator=%2B4712341234&message=hi&receivedTime=32/13/2020")

    assert response.status_code == 400 and response.json()["response"] == {"field": "receivedTime"}


def test_body_over_64_kib_is_413(api_client, organization):
    response = post_json(api_client, {"text": "x" * (65 * 1024), "originator": "+4712341234"})

    assert response.status_code == 413
    assert InboundMessage.objects.count() == 0


def test_unknown_sender_is_stored_and_fails_visibly(api_client, organization):
    post_json(api_client, {"text": "1", "originator": "+4712341299"})

    body = api_client.get("/api/sms/inbound?fields=*").json()
    (item,) = body["inboundsmss"]
    assert (item["smsstatus"], item["status"], item["failureReason"]) == ("FAILED", "failed", "NO_ENTITY")


def test_list_is_paged_and_filterable(api_client, organization):
    PatientFactory(organization=organization, phone="+4712341234")
    for i in range(3):
        post_json(api_client, {"text": f"m{i}", "originator": "+4712341234"})
    post_json(api_client, {"text": "x", "originator": "+4712341299"})

    page = api_client.get("/api/sms/inbound?pageSize=2&page=2").json()
    assert page["pager"] == {"page": 2, "pageCount": 2, "total": 4, "pageSize": 2}
    assert set(page["inboundsmss"][0]) == {"id", "displayName"}

    processed = api_client.get("/api/sms/inbound?filter=smsstatus:eq:PROCESSED&fields=text,smsstatus").json()
    assert sorted(m["text"] for m in processed["inboundsmss"]) == ["m0", "m1", "m2"]
    everything = api_client.get("/api/sms/inbound?paging=false").json()
    assert "pager" not in everything and len(everything["inboundsmss"]) == 4


def test_bad_filter_is_400(api_client, organization):
    response = api_client.get("/api/sms/inbound?filter=smsstatus:eq:NOPE")

    assert response.status_code == 400 and response.json()["response"] == {"field": "filter"}


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("page=99999999999999999999", "page", "page must be at most 1000000"),
        ("page=0", "page", "page must be at least 1"),
        ("page=-3", "page", "page must be at least 1"),
        ("page=x", "page", "page must be an integer"),
        ("pageSize=1001", "pageSize", "pageSize must be at most 1000"),
    ],
)
def test_out_of_range_paging_is_400_naming_the_field(api_client, organization, query, field, message):
    response = api_client.get(f"/api/sms/inbound?{query}")

    assert response.status_code == 400
    assert response.json() == {
        "httpStatus": "Bad Request",
        "httpStatusCode": 400,
        "status": "ERROR",
        "message": message,
        "response": {"field": field},
    }


def test_last_allowed_page_is_an_empty_page(api_client, organization):
    response = api_client.get("/api/sms/inbound?page=1000000")

    assert response.status_code == 200 and response.json()["inboundsmss"] == []


def test_get_and_delete_one(api_client, organization):
    post_json(api_client, {"text": "hi", "originator": "+4712341234"})
    message = InboundMessage.objects.get()

    shown = api_client.get(f"/api/sms/inbound/{message.id}").json()
    assert shown["id"] == str(message.id) and shown["text"] == "hi" and shown["gatewayid"] == "default"

    deleted = api_client.delete(f"/api/sms/inbound/{message.id}")
    assert deleted.status_code == 200 and deleted.json()["message"] == f"IncomingSms with {message.id} deleted"
    missing = api_client.delete(f"/api/sms/inbound/{message.id}")
    assert missing.status_code == 404
    assert missing.json() == {
        "httpStatus": "Not Found",
        "httpStatusCode": 404,
        "status": "ERROR",
        "message": f"No IncomingSms with id '{message.id}' was found.",
        "errorCode": "E1005",
    }


def test_delete_many_ignores_unknown_ids(api_client, organization):
    post_json(api_client, {"text": "a", "originator": "+4712341234"})
    post_json(api_client, {"text": "b", "originator": "+4712341234"})
    ids = [str(i) for i in InboundMessage.objects.values_list("id", flat=True)]

    response = api_client.delete(f"/api/sms/inbound?ids={ids[0]},{ids[1]},nope")

    assert response.status_code == 200 and response.json()["message"] == "Objects deleted"
    assert InboundMessage.objects.count() == 0


def test_another_organizations_message_is_404_and_not_listed(api_client, other_api_client, organization):
    post_json(api_client, {"text": "hi", "originator": "+4712341234"})
    message = InboundMessage.objects.get()

    assert other_api_client.get(f"/api/sms/inbound/{message.id}").status_code == 404
    assert other_api_client.delete(f"/api/sms/inbound/{message.id}").status_code == 404
    assert other_api_client.get("/api/sms/inbound").json()["inboundsmss"] == []
    other_api_client.delete(f"/api/sms/inbound?ids={message.id}")
    assert InboundMessage.objects.count() == 1


@pytest.mark.parametrize("headers", [{}, {"HTTP_AUTHORIZATION": "Bearer not-a-real-key"}])
def test_unauthenticated_is_refused_with_a_web_message(client, organization, headers):
    response = client.post("/api/sms/inbound?originator=%2B4712341234&message=hi", **headers)

    assert response.status_code in (401, 403) and InboundMessage.objects.count() == 0
    body = response.json()
    assert body["httpStatusCode"] == response.status_code and body["status"] == "ERROR"
    assert body["message"] and "error" not in body


def test_malformed_json_is_a_400_web_message(api_client, organization):
    response = api_client.post("/api/sms/inbound", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["httpStatusCode"] == 400 and response.json()["response"] == {"field": "body"}


def test_gatewayid_naming_an_organization_gateway_links_it_for_replies(api_client, organization, gateway):
    from messaging.models import OutboundMessage

    GatewayFactory(organization=organization, name="other", is_default=False)
    post_json(api_client, {"text": "STOP", "originator": "+12025550111", "gatewayid": str(gateway.id)})

    message = InboundMessage.objects.get()
    assert message.gateway_id == gateway.id and message.command == "opt_out"
    assert OutboundMessage.objects.get(source="system").gateway_id == gateway.id
