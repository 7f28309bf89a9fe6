"""What messages_queue stores is the same whichever way the rows reach the database.

PostgreSQL takes large sends through COPY (text lines built here), small ones through one raw
INSERT, and other databases through the ORM; a body with tabs, newlines, backslashes or emoji
must come back byte for byte, and opted-out recipients must be stored failed with the reason.
"""

import pytest

from messaging.exceptions import MessageRejected
from messaging.models import OptOut, OutboundMessage
from messaging.services.outbound import STREAM_THRESHOLD, messages_queue
from messaging.services.outbox_rows import COPY_THRESHOLD

BODY = 'Dose at 8:00\tthen 20:00\nC:\\pills "x" \\N 💊'
COMPARED = [
    f.attname
    for f in OutboundMessage._meta.concrete_fields
    if f.attname not in {"id", "recipient", "batch_id", "created_at", "updated_at", "failed_at", "valid_until"}
]


def _queue(organization, gateway, recipients):
    return messages_queue(
        organization=organization,
        recipients=recipients,
        body=BODY,
        source=OutboundMessage.Source.DHIS2_API,
        subject="Ward\t7\\B",
        gateway=gateway,
    )


@pytest.mark.parametrize("count", [1, 3, COPY_THRESHOLD + 10, STREAM_THRESHOLD + 5])
def test_stored_rows_match_what_the_orm_reads_back(organization, gateway, count):
    opted_out = "+12025550100"
    OptOut.objects.create(organization=organization, phone_number=opted_out)
    # The opted-out number last: the streaming path writes earlier chunks before reaching it.
    recipients = [f"+1202555{n:04d}" for n in range(101, 100 + count)] + [opted_out]

    result = _queue(organization, gateway, recipients)

    stored = {m.recipient: m for m in OutboundMessage.objects.filter(batch_id=result.batch_id)}
    assert set(stored) == set(recipients)
    assert {(i, r, s) for i, r, s in result.stored} == {(m.id, m.recipient, m.status) for m in stored.values()}
    refused = stored.pop(opted_out)
    assert (refused.status, refused.error_reason, refused.result_code) == ("failed", "opted out", "FAILED")
    assert refused.failed_at is not None
    for message in stored.values():
        assert message.body == BODY and message.subject == "Ward\t7\\B"
        assert message.status == "queued" and message.failed_at is None and message.error_reason == ""
        assert (message.organization_id, message.gateway_id) == (organization.pk, gateway.pk)
    # The model instances the caller may ask for are the rows as stored.
    for built in result.messages[:5] + result.messages[-5:]:
        from_db = OutboundMessage.objects.get(pk=built.pk)
        assert {a: getattr(built, a) for a in COMPARED} == {a: getattr(from_db, a) for a in COMPARED}


def test_copy_and_insert_paths_store_identical_rows(organization, gateway):
    small = _queue(organization, gateway, ["+12025550199"])
    large = _queue(organization, gateway, [f"+1202556{n:04d}" for n in range(COPY_THRESHOLD + 1)])

    one = OutboundMessage.objects.get(batch_id=small.batch_id)
    other = OutboundMessage.objects.filter(batch_id=large.batch_id).first()
    assert {a: getattr(one, a) for a in COMPARED} == {a: getattr(other, a) for a in COMPARED}


def test_a_large_send_without_one_valid_recipient_stores_nothing(organization, gateway):
    invalid = [f"+1000555{n:04d}" for n in range(STREAM_THRESHOLD + 1)]

    with pytest.raises(MessageRejected) as refused:
        messages_queue(organization=organization, recipients=invalid, body="Hi", source="dhis2_api", require_one=True)

    assert refused.value.code == "no_recipient" and len(refused.value.refused) == len(invalid)
    assert not OutboundMessage.objects.exists()


@pytest.mark.parametrize("count", [1, 3, COPY_THRESHOLD + 10, STREAM_THRESHOLD + 5])
def test_each_recipient_gets_the_gateways_number_in_its_country(organization, gateway, count):
    """BioT's static local number per country: the reply comes back to a local number."""
    from gateways.models import InboundNumber

    gateway.config = {**gateway.config, "from": "Clinic"}
    gateway.save()
    InboundNumber.objects.create(gateway=gateway, number="+12025550100", country="US")
    InboundNumber.objects.create(gateway=gateway, number="+447700900100", country="GB")
    countries = {"US": "+1202555{:04d}", "CA": "+1416555{:04d}", "GB": "+4474001{:05d}"}
    recipients = [countries[list(countries)[n % 3]].format(1000 + n) for n in range(count)]

    result = _queue(organization, gateway, recipients)

    expected = {"+1202": "+12025550100", "+1416": "Clinic", "+4474": "+447700900100"}
    stored = OutboundMessage.objects.filter(batch_id=result.batch_id)
    assert stored.count() == count
    assert {m.recipient: m.sender for m in stored} == {r: expected[r[:5]] for r in recipients}
