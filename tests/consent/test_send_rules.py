"""A send for a program that requires consent, per-program opt-outs and the exemption guard."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from messaging.exceptions import MessageRejected
from messaging.models import OptOut, OutboundMessage
from messaging.services.outbound import messages_queue
from tests.consent.conftest import opt_in
from tests.factories import OutboundMessageFactory, PatientFactory

pytestmark = pytest.mark.django_db(transaction=True)

BIOT = "/notification/v1/sms/send"
DHIS2 = "/api/sms/outbound"
A, B = "+12025550101", "+12025550102"


def test_biot_single_send_without_consent_is_a_409_naming_the_program_and_stores_nothing(
    api_client, gateway, reminders
):
    PatientFactory(organization=gateway.organization, phone=A)

    response = api_client.post(BIOT, {"message": "Dose", "phoneNumber": A, "program": reminders.slug}, format="json")

    assert response.status_code == 409, response.content
    assert response.json()["code"] == "consent_required" and response.json()["field"] == "program"
    assert "medication-reminders" in response.json()["error"]
    assert OutboundMessage.objects.count() == 0


def test_biot_single_send_with_consent_goes_out(api_client, gateway, reminders):
    opt_in(PatientFactory(organization=gateway.organization, phone=A), reminders)

    response = api_client.post(BIOT, {"message": "Dose", "phoneNumber": A, "program": reminders.slug}, format="json")

    assert response.status_code == 200, response.content
    assert OutboundMessage.objects.get(pk=response.json()["messageId"]).status == "sent"


def test_unknown_program_is_a_400_naming_program_and_stores_nothing(api_client, other_api_client, gateway, reminders):
    for program in ("no-such-program", "x" * 60):
        response = api_client.post(BIOT, {"message": "Dose", "phoneNumber": A, "program": program}, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["field"] == "program"
    # Another organization's program is unknown to this one.
    response = other_api_client.post(
        DHIS2, {"message": "Hi", "recipients": [A], "program": reminders.slug}, format="json"
    )
    assert response.status_code == 409 and response.json()["response"]["field"] == "program"
    assert OutboundMessage.objects.count() == 0


def test_a_batch_records_the_recipient_without_consent_as_refused(api_client, gateway, reminders):
    opt_in(PatientFactory(organization=gateway.organization, phone=A), reminders)
    PatientFactory(organization=gateway.organization, phone=B)

    response = api_client.post(
        DHIS2, {"message": "Dose", "recipients": [A, B], "program": reminders.slug}, format="json"
    )

    assert response.status_code == 200, response.content
    body = response.json()["response"]
    assert body["queued"] == 1
    assert [(r["recipient"], r["reason"]) for r in body["refused"]] == [(B, "no consent for medication-reminders")]
    refused = OutboundMessage.objects.get(recipient=B)
    assert (refused.status, refused.error_reason) == ("failed", "no consent for medication-reminders")


def test_a_program_opt_out_refuses_that_program_only(gateway, reminders, general):
    patient = PatientFactory(organization=gateway.organization, phone=A)
    opt_in(patient, reminders)
    opt_in(patient, general)
    from entities.consent import consent_record

    consent_record(organization=patient.organization, person=patient, program=general, status="opted_out", source="api")

    org = gateway.organization
    refused = messages_queue(organization=org, recipients=[A], body="News", source="portal", program="general")
    allowed = messages_queue(organization=org, recipients=[A], body="Dose", source="portal", program=reminders)
    unscoped = messages_queue(organization=org, recipients=[A], body="Hi", source="portal")

    assert refused.messages[0].error_reason == "opted out of general"
    assert allowed.messages[0].status != "failed" and unscoped.messages[0].status != "failed"


def test_a_program_covers_the_sends_of_its_sources(gateway, reminders):
    """Dose reminders (source "schedule") count as the program without naming it."""
    reminders.sources = ["schedule"]
    reminders.save()
    PatientFactory(organization=gateway.organization, phone=A)

    reminder = messages_queue(organization=gateway.organization, recipients=[A], body="Dose", source="schedule")
    api = messages_queue(organization=gateway.organization, recipients=[A], body="Hi", source="biot_api")

    assert reminder.messages[0].error_reason == "no consent for medication-reminders"
    assert api.messages[0].status != "failed"


def test_global_opt_out_comes_first_and_keeps_its_reason(gateway, reminders):
    opt_in(PatientFactory(organization=gateway.organization, phone=A), reminders)
    OptOut.objects.create(organization=gateway.organization, phone_number=A)

    with pytest.raises(MessageRejected) as refused:
        messages_queue(
            organization=gateway.organization, recipients=[A], body="x", source="biot_api", program=reminders,
            refuse_opted_out=True,
        )  # fmt: skip
    assert refused.value.code == "opted_out" and refused.value.status_code == 409


def test_exempt_guard_allows_one_a_day_and_three_a_week_without_consent(gateway, reminders):
    org = gateway.organization
    org.exempt_mode = True
    org.save()
    consented = PatientFactory(organization=org, phone=B)
    opt_in(consented, reminders)

    first = messages_queue(organization=org, recipients=[A, B], body="1", source="portal")
    second = messages_queue(organization=org, recipients=[A, B], body="2", source="portal")
    reply = messages_queue(organization=org, recipients=[A], body="HELP answer", source="system")

    assert [m.status != "failed" for m in first.messages] == [True, True]
    by_number = {m.recipient: m for m in second.messages}
    assert by_number[A].error_reason == "exempt limit: 1 a day without consent"
    assert by_number[B].status != "failed"  # recorded consent: no limit
    assert reply.messages[0].status != "failed"  # confirmations and HELP answers are never limited

    # Three in the last week (the first above plus two older ones): the weekly limit.
    for days in (2, 3):
        older = OutboundMessageFactory(organization=org, gateway=gateway, recipient=A)
        OutboundMessage.objects.filter(pk=older.pk).update(created_at=timezone.now() - timedelta(days=days))
    day_ago = timezone.now() - timedelta(days=1, minutes=1)
    OutboundMessage.objects.filter(recipient=A, body="1").update(created_at=day_ago)
    OutboundMessage.objects.filter(recipient=A, body="2").delete()  # the refused one (never counted anyway)
    third = messages_queue(organization=org, recipients=[A], body="3", source="portal")
    assert third.messages[0].error_reason == "exempt limit: 3 a week without consent"


def test_exempt_guard_single_send_is_a_409_with_the_reason(api_client, gateway):
    org = gateway.organization
    org.exempt_mode, org.exempt_daily_limit = True, 2
    org.save()
    for _ in range(2):
        assert api_client.post(BIOT, {"message": "Hi", "phoneNumber": A}, format="json").status_code == 200

    response = api_client.post(BIOT, {"message": "Hi", "phoneNumber": A}, format="json")

    assert response.status_code == 409 and response.json()["code"] == "exempt_limit"
    assert "2 a day" in response.json()["error"]
    assert OutboundMessage.objects.count() == 2


def test_large_batch_with_a_program_on_postgresql(require_postgres, gateway, reminders):
    """From 50 recipients rows go by COPY: refused rows keep their own reason there too."""
    org = gateway.organization
    numbers = [f"+1202555{n:04d}" for n in range(3000, 4200)]
    for number in numbers[:3]:
        opt_in(PatientFactory(organization=org, phone=number), reminders)
    OptOut.objects.create(organization=org, phone_number=numbers[0])

    result = messages_queue(organization=org, recipients=numbers, body="Dose", source="dhis2_api", program=reminders)

    reasons = {m.recipient: m.error_reason for m in OutboundMessage.objects.filter(organization=org)}
    assert len(reasons) == 1200
    assert reasons[numbers[0]] == "opted out"
    assert reasons[numbers[1]] == reasons[numbers[2]] == ""
    assert reasons[numbers[3]] == "no consent for medication-reminders"
    assert len(result.refused) == 1198


def test_a_send_without_program_or_guard_costs_no_extra_query(
    gateway, django_assert_num_queries, django_capture_on_commit_callbacks, monkeypatch
):
    """The hot path: the programs come from the per-process cache, and so does the id of a text
    already sent (remembered once committed: the test's transaction commits the warm-up's)."""
    from messaging.services import outbound

    monkeypatch.setattr(outbound, "dispatch_request", lambda: None)  # delivery is not the point here
    org = gateway.organization
    with django_capture_on_commit_callbacks(execute=True):
        messages_queue(organization=org, recipients=[A], body="Dose", source="biot_api", refuse_opted_out=True)

    # SQLite: the opt-out lookup and the INSERT. PostgreSQL: one INSERT … WHERE NOT EXISTS, a prepared
    # statement on psycopg's own cursor (smsportal/db.py), which Django's query log does not see.
    with django_assert_num_queries(0 if connection.vendor == "postgresql" else 2):
        messages_queue(organization=org, recipients=[B], body="Dose", source="biot_api", refuse_opted_out=True)
    assert OutboundMessage.objects.filter(recipient=B, status=OutboundMessage.Status.QUEUED).count() == 1
