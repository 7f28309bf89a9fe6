"""The message log's queries walk indexes on PostgreSQL, never the whole table (docs/performance.md,
"Message log"). The table gets enough rows, spread over two organizations, and fresh statistics, so
the planner chooses as it would in production; a sequential scan here is a scan of millions there."""

import pytest
from django.db import connection
from django.http import QueryDict

from portal.selectors import message_log as log
from tests.factories import GatewayFactory, OrganizationFactory, PatientFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]
ROWS = 60_000


# Texts repeated as personal reminders are: TEXTS distinct ones, a few of which name Metformin.
TEXTS = 30_000
TEXT = (
    f"'Reminder ' || ({{n}} %% {TEXTS}) || ': time for your '"
    f" || CASE WHEN {{n}} %% {TEXTS} < 7 THEN 'Metformin' ELSE 'Lisinopril' END"
)


def fill(organization, gateway, *, rows: int, seed: int) -> None:
    """`rows` sent and a fifth as many received messages, in one statement each (generate_series)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO messaging_outboundtext (organization_id, digest, body)
            SELECT %s, md5({TEXT.format(n="j")}), {TEXT.format(n="j")} FROM generate_series(0, %s) AS j
            """,
            [organization.pk, TEXTS - 1],
        )
        cursor.execute(
            f"""
            INSERT INTO messaging_outboundmessage (id, organization_id, gateway_id, recipient, sender, subject, body,
                text_id, encoding, segments, status, result_code, error_reason, provider_error_code, attempts, source,
                idempotency_key, possible_duplicate, created_at, updated_at)
            SELECT gen_random_uuid(), %s, %s,
                '+1202' || (2 + i %% 8) || '55' || lpad((i * 7919 %% 10000)::text, 4, '0'),
                '', '', {TEXT.format(n="i")},
                (SELECT id FROM messaging_outboundtext
                 WHERE organization_id = %s AND digest = md5({TEXT.format(n="i")})),
                'GSM-7', 1,
                (ARRAY['delivered','delivered','delivered','sent','failed'])[1 + i %% 5], '', '', '', 1, 'schedule',
                '', false, now() - (i || ' minutes')::interval, now()
            FROM generate_series(1, %s) AS i
            """,  # noqa: S608 (constant SQL)
            [organization.pk, gateway.pk, organization.pk, rows],
        )
        cursor.execute(
            """
            INSERT INTO messaging_inboundmessage (id, organization_id, gateway_id, gateway_label, originator, recipient,
                text, encoding, received_at, provider_message_id, raw, status, failure_reason, entity_type,
                previous_published_message_id, trace_id, command, arrived_unattributed, created_at, updated_at)
            SELECT gen_random_uuid(), %s, %s, '', '+1202' || (2 + i %% 8) || '55' || lpad((i %% 10000)::text, 4, '0'),
                '', 'reply ' || i, 'ENC7BIT', now() - (i || ' minutes')::interval, %s || '-' || i, '{}',
                'processed', '', '', '', '', '', false, now(), now()
            FROM generate_series(1, %s) AS i
            """,
            [organization.pk, gateway.pk, f"p{seed}", rows // 5],
        )


@pytest.fixture
def big_log(require_postgres, organization, gateway):
    other = OrganizationFactory(slug="plans-other")
    fill(organization, gateway, rows=ROWS, seed=1)
    fill(other, GatewayFactory(organization=other, name="other"), rows=ROWS, seed=2)
    PatientFactory(organization=organization, last_name="Okafor", phone="+12022550042")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE messaging_outboundmessage")
        cursor.execute("ANALYZE messaging_outboundtext")
        cursor.execute("ANALYZE messaging_inboundmessage")
    organization.default_region = "US"
    organization.save()
    return organization


def plans(organization, params: dict, *, cursor=None) -> list[str]:
    filters = log.LogFilters.from_params(QueryDict(mutable=True) | params)
    people = log._people_numbers(organization=organization, query=filters.query) if filters.query else None
    found = []
    for qs, at in (
        (log.outbound_log(organization=organization, filters=filters, people=people), "created_at"),
        (log.inbound_log(organization=organization, filters=filters, people=people), "received_at"),
    ):
        if qs is not None:
            found.append(log.keyset(qs, at=at, cursor=cursor, older=True, limit=50).explain())
    return found


CASES = [
    {},
    {"q": "+12022551234"},  # a whole number: exact
    {"q": "202-255-1234"},  # national, read in the organization's region
    {"q": "+120225512"},  # a number's beginning
    {"q": "Metformin"},  # text: the trigram indexes (sent texts: the texts table, then their copies)
    {"q": "Okafor"},  # a person: their number
    {"status": "failed"},
    {"status": "unknown"},  # none at all: must not read the organization's rows to learn it
    {"direction": "in"},
    {"from": "2020-01-01", "to": "2020-01-31"},
]


def test_the_first_page_each_filter_and_each_search_use_an_index_and_so_does_a_later_page(big_log):
    # One test: filling and analyzing the table is most of its time.
    for params in CASES:
        for plan in plans(big_log, params):
            assert "Seq Scan" not in plan and "Index" in plan, (params, plan)
    first = log.log_page(organization=big_log, filters=log.LogFilters(), limit=50)
    for plan in plans(big_log, {}, cursor=log.Cursor.decode(first.older, "before")):
        assert "Seq Scan" not in plan and "Index" in plan, ("page 2", plan)
    # The sent texts' trigram index serves the log's text search (its expression is the one
    # Django's icontains writes). Whether the planner prefers it over reading 60,000 texts depends
    # on ANALYZE's sample, so sequential scans are ruled out for this last check only.
    texts = log.sent_texts(big_log, "Metformin")[: log.TEXT_IDS_LISTED + 1]
    assert len(texts) == 7
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    assert "outbound_text_body_trgm" in texts.explain()
