"""The message log: both directions, filters, search, keyset paging, CSV export — and never another
organization's message in any of them."""

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging.models import InboundMessage, OutboundMessage
from tests.factories import InboundMessageFactory, OutboundMessageFactory, PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def log(organization, gateway, other_organization, other_gateway, patient):
    """Messages of two organizations; the other one's texts and numbers say so."""
    now = timezone.now()
    delivered = OutboundMessageFactory(
        organization=organization, gateway=gateway, recipient="+12025550111", body="Hi Ana, time for Metformin",
        status="delivered", sent_at=now - timedelta(minutes=9), delivered_at=now - timedelta(minutes=8),
    )  # fmt: skip
    failed = OutboundMessageFactory(
        organization=organization, gateway=gateway, recipient="+12025550177", body="Clinic closed Monday",
        status="failed", error_reason="number unreachable", failed_at=now - timedelta(minutes=5),
    )  # fmt: skip
    reply = InboundMessageFactory(
        organization=organization, gateway=gateway, originator="+12025550111", text="1 taken",
        received_at=now - timedelta(minutes=3), status="processed", processed_at=now - timedelta(minutes=3),
    )  # fmt: skip
    OutboundMessage.objects.filter(pk=delivered.pk).update(created_at=now - timedelta(minutes=10))
    OutboundMessage.objects.filter(pk=failed.pk).update(created_at=now - timedelta(minutes=6))
    OutboundMessageFactory(
        organization=other_organization, gateway=other_gateway, recipient="+12025550111", body="OTHER ORG secret",
        status="failed", error_reason="OTHER reason",
    )  # fmt: skip
    InboundMessageFactory(
        organization=other_organization, gateway=other_gateway, originator="+12025550111", text="OTHER ORG reply 1"
    )
    InboundMessageFactory(organization=None, gateway=None, originator="+12025550111", text="UNATTRIBUTED 1",
                          status="unattributed", arrived_unattributed=True)  # fmt: skip
    return {"delivered": delivered, "failed": failed, "reply": reply}


def rows(response) -> list[str]:
    """The message ids of a log page, in page order."""
    html = response.content.decode()
    return [part.split('"', 1)[0] for part in html.split('data-message-id="')[1:]]


def test_log_lists_both_directions_newest_first_with_status_reason_gateway_and_timeline(staff, log):
    response = staff.get("/portal/messages/")

    assert response.status_code == 200
    assert rows(response) == [str(log["reply"].id), str(log["failed"].id), str(log["delivered"].id)]
    html = response.content.decode()
    assert "number unreachable" in html and "simulator" in html and "Ana Lopez" in html
    assert "<b>delivered</b>" in html and "<b>sent</b>" in html and "<b>queued</b>" in html
    assert 'href="/portal/messages/"' in html  # the nav links the page


def test_another_organization_never_appears_in_page_filters_search_or_export(staff, log):
    for query in ["", "?q=%2B12025550111", "?q=OTHER", "?q=1", "?status=failed", "?direction=in", "?q=Ana"]:
        html = staff.get("/portal/messages/" + (query + "&" if query else "?") + "fragment=1").content.decode()
        assert "OTHER" not in html and "UNATTRIBUTED" not in html, query
        export = b"".join(staff.get("/portal/messages/export.csv" + query).streaming_content).decode()
        assert "OTHER" not in export and "UNATTRIBUTED" not in export, query
    # Another organization's staff see none of ours.
    assert rows(staff.get("/portal/messages/?q=OTHER")) == []


def test_other_organizations_staff_see_only_their_own(other_staff, log):
    html = other_staff.get("/portal/messages/").content.decode()

    assert "OTHER ORG secret" in html and "Metformin" not in html and "1 taken" not in html


@pytest.mark.parametrize(
    "query, expected",
    [
        ("?direction=out", ["failed", "delivered"]),
        ("?direction=in", ["reply"]),
        ("?status=failed", ["failed"]),
        ("?status=processed", ["reply"]),
        ("?q=%2B12025550111", ["reply", "delivered"]),  # a whole number: exact
        ("?q=202-555-0177", ["failed"]),  # national, read in the organization's region (US)
        ("?q=%2B1202555017", ["failed"]),  # the beginning of a number
        ("?q=closed", ["failed"]),  # text
        ("?q=lopez", ["reply", "delivered"]),  # a person: their number's messages
        ("?q=Ana+Lopez", ["reply", "delivered"]),  # a full name: first and last name are two columns
        ("?q=Ana+Okafor", []),  # every word must match the person
        ("?direction=out&status=delivered", ["delivered"]),
        ("?direction=in&status=delivered", []),
    ],
)
def test_filters_and_search(staff, log, organization, query, expected):
    organization.default_region = "US"
    organization.save()

    assert rows(staff.get("/portal/messages/" + query)) == [str(log[name].id) for name in expected]


def test_an_all_digit_national_id_finds_the_persons_messages_as_well_as_numbers_beginning_so(staff, log, patient):
    patient.national_id = "76988"
    patient.save()

    assert rows(staff.get("/portal/messages/?q=76988")) == [str(log["reply"].id), str(log["delivered"].id)]
    assert rows(staff.get("/portal/messages/?q=76989")) == []


def test_gateway_and_date_filters(staff, log, organization):
    from tests.factories import GatewayFactory

    second = GatewayFactory(organization=organization, name="backup", is_default=False)
    OutboundMessage.objects.filter(pk=log["failed"].pk).update(gateway=second)
    # The organization's days the messages fall on: shortly after midnight the oldest is yesterday's.
    first = OutboundMessage.objects.get(pk=log["delivered"].pk).created_at.astimezone(organization.zone()).date()
    last = log["reply"].received_at.astimezone(organization.zone()).date()

    assert rows(staff.get(f"/portal/messages/?gateway={second.pk}")) == [str(log["failed"].id)]
    assert len(rows(staff.get(f"/portal/messages/?from={first}&to={last}"))) == 3
    assert rows(staff.get(f"/portal/messages/?to={first - timedelta(days=1)}")) == []
    assert rows(staff.get(f"/portal/messages/?from={last + timedelta(days=1)}")) == []


@pytest.mark.parametrize(
    "query, field",
    [
        ("direction=sideways", "direction"),
        ("status=lost", "status"),
        ("gateway=nope", "gateway"),
        ("from=yesterday", "from"),
        ("from=2025-02-02&to=2025-02-01", "to"),
        ("before=12-notahex", "before"),
        ("after=x", "after"),
        ("before=99999999999999999999999-" + "0" * 32, "before"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(staff, log, query, field):
    page = staff.get("/portal/messages/?" + query)
    export = staff.get("/portal/messages/export.csv?" + query)

    assert page.status_code == 400 and f'data-field="{field}"' in page.content.decode()
    assert "No messages yet." not in page.content.decode()  # the log has messages: the filter hides them
    assert export.status_code == 400 and export.content.decode().startswith(field)


def test_keyset_paging_walks_every_message_once_both_ways(staff, organization, gateway, monkeypatch):
    from portal.views import message_log

    monkeypatch.setattr(message_log, "PAGE_SIZE", 4)
    same_time = timezone.now() - timedelta(hours=1)
    for n in range(7):
        OutboundMessageFactory(organization=organization, gateway=gateway, body=f"out {n}")
        InboundMessageFactory(organization=organization, gateway=gateway, text=f"in {n}", received_at=same_time)
    OutboundMessage.objects.filter(organization=organization).update(created_at=same_time)  # ties: split by id

    seen, pages, url = [], [], "/portal/messages/"
    while url:
        response = staff.get(url)
        pages.append(rows(response))
        seen += pages[-1]
        older = response.context["older_url"]
        url = "/portal/messages/" + older if older else ""
    assert len(seen) == 14 and len(set(seen)) == 14 and [len(p) for p in pages] == [4, 4, 4, 2]
    # Back from the last page to the first, through "Newer".
    back = []
    response = staff.get("/portal/messages/" + response.context["newer_url"])
    while True:
        back.insert(0, rows(response))
        newer = response.context["newer_url"]
        if not newer:
            break
        response = staff.get("/portal/messages/" + newer)
    assert back == pages[:-1]


def test_a_page_costs_the_same_queries_for_3_or_60_messages(staff, organization, gateway):
    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert staff.get("/portal/messages/?fragment=1").status_code == 200
        return len(ctx.captured_queries)

    OutboundMessageFactory.create_batch(3, organization=organization, gateway=gateway)
    few = queries()
    for n in range(30):
        PatientFactory(organization=organization, phone=f"+1202555{n + 2000:04d}")
        OutboundMessageFactory(organization=organization, gateway=gateway, recipient=f"+1202555{n + 2000:04d}")
        InboundMessageFactory(organization=organization, gateway=gateway, originator=f"+1202555{n + 2000:04d}")

    assert queries() == few


def test_export_is_the_filtered_log_as_csv_with_formulas_defused(staff, log, organization, gateway):
    OutboundMessageFactory(organization=organization, gateway=gateway, recipient="+12025550188", body="=HYPERLINK(1)")

    response = staff.get("/portal/messages/export.csv")
    table = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))

    assert response["Content-Type"].startswith("text/csv")
    assert [r["id"] for r in table][1:] == [str(log[n].id) for n in ("reply", "failed", "delivered")]
    assert table[0]["text"] == "'=HYPERLINK(1)"
    delivered = table[-1]
    assert delivered["number"] == "+12025550111" and delivered["person"] == "Ana Lopez"
    assert delivered["status"] == "delivered" and delivered["gateway"] == "simulator" and delivered["delivered_utc"]
    assert table[2]["reason"] == "number unreachable" and table[1]["processed_utc"]
    only_failed = staff.get("/portal/messages/export.csv?status=failed")
    assert len(list(csv.DictReader(io.StringIO(b"".join(only_failed.streaming_content).decode())))) == 1


def test_export_streams_past_one_chunk(staff, organization, gateway, monkeypatch):
    from portal.selectors import message_log as selectors_log

    real = selectors_log.log_export_rows
    monkeypatch.setattr(selectors_log, "log_export_rows", lambda **kw: real(**{**kw, "chunk": 3}))
    OutboundMessageFactory.create_batch(8, organization=organization, gateway=gateway)

    body = b"".join(staff.get("/portal/messages/export.csv").streaming_content).decode()

    assert len(list(csv.DictReader(io.StringIO(body)))) == 8


def test_live_refresh_fragment_shows_a_new_message_and_a_status_change(staff, log, organization, gateway):
    new = InboundMessageFactory(organization=organization, gateway=gateway, text="a brand new reply")
    InboundMessage.objects.filter(pk=new.pk)
    OutboundMessage.objects.filter(pk=log["failed"].pk).update(status="delivered")

    fragment = staff.get("/portal/messages/?fragment=1")

    assert rows(fragment)[0] == str(new.id) and "<html" not in fragment.content.decode()
    page = staff.get("/portal/messages/").content.decode()
    assert 'id="message-log" data-live="inbound.message,outbound."' in page


def test_the_log_says_which_time_zone_its_times_are_in(staff, organization):
    organization.timezone = "Europe/Paris"
    organization.save()

    assert "times in Europe/Paris" in staff.get("/portal/messages/").content.decode()
