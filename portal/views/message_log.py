"""The message log: every SMS of the organization in and out, with filters, search, keyset paging,
live refresh and a CSV export of what the filters select."""

import csv
from datetime import UTC

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from portal.selectors import message_log as log
from portal.views.shared import is_fragment, staff_view
from smsportal.spreadsheet import spreadsheet_cell

PAGE_SIZE = 50
EXPORT_COLUMNS = ["id", "direction", "time_utc", "number", "person", "person_type", "status", "reason",
                  "gateway", "text", "details", *[f"{label}_utc" for label, _ in log.OUT_TIMELINE[1:]],
                  "processed_utc"]  # fmt: skip


def _filters_and_cursors(request):
    filters = log.LogFilters.from_params(request.GET)
    before = request.GET.get("before", "")
    after = request.GET.get("after", "")
    return (
        filters,
        log.Cursor.decode(before, "before") if before else None,
        log.Cursor.decode(after, "after") if after else None,
    )


def _link(request, **changes) -> str:
    """This page's query string with `changes` (None drops a parameter): paging keeps the filters."""
    query = request.GET.copy()
    for name in ("before", "after", "fragment", *changes):
        query.pop(name, None)
    for name, value in changes.items():
        if value:
            query[name] = value
    return "?" + query.urlencode()


@staff_view
@require_GET
def message_log(request):
    org = request.organization
    context = {
        "statuses": log.STATUSES,
        "gateways": log.log_gateways(organization=org),
        "params": request.GET,
        "export_url": _link(request),
    }
    try:
        filters, before, after = _filters_and_cursors(request)
    except log.BadFilter as exc:
        context.update(error=str(exc), error_field=exc.field, page=log.LogPage([]), filters=log.LogFilters())
        return render(request, "portal/message_log.html", context, status=400)
    page = log.log_page(
        organization=org, filters=filters, before=before, after=after, limit=PAGE_SIZE,
        tz=timezone.get_current_timezone(),
    )  # fmt: skip
    log.log_rows_attach(organization=org, rows=page.rows, gateways=context["gateways"])
    context.update(
        page=page,
        filters=filters,
        newer_url=_link(request, after=page.newer) if page.newer else "",
        older_url=_link(request, before=page.older) if page.older else "",
        first_url=_link(request) if (before or after) else "",
    )
    if is_fragment(request):
        return render(request, "portal/_message_log_rows.html", context)
    return render(request, "portal/message_log.html", context)


@staff_view
@require_GET
def message_log_export(request):
    """CSV of every message the filters select (the whole log without filters), newest first."""
    try:
        filters, _, _ = _filters_and_cursors(request)
    except log.BadFilter as exc:
        from django.http import HttpResponseBadRequest

        return HttpResponseBadRequest(f"{exc.field}: {exc}", content_type="text/plain")
    org = request.organization
    rows = log.log_export_rows(organization=org, filters=filters, tz=timezone.get_current_timezone())

    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())

    def cell(value) -> str:
        return spreadsheet_cell(str(value)) if value is not None else ""  # never a formula (CSV injection)

    def when(value) -> str:
        return value.astimezone(UTC).isoformat() if value else ""

    def lines():
        yield writer.writerow(EXPORT_COLUMNS)
        for r in rows:
            out = r.direction == log.OUT
            times = dict(r.timeline) if out else {}
            processed = r.timeline[-1][1] if not out and len(r.timeline) > 1 else None
            person = r.person
            yield writer.writerow(
                [r.id, r.direction, when(r.at), cell(r.number), cell(person.full_name if person else ""),
                 person.entity_type if person else "", r.status, cell(r.reason),
                 cell(r.gateway.name if r.gateway else ""), cell(r.body), cell(r.detail),
                 *[when(times.get(label)) for label, _ in log.OUT_TIMELINE[1:]],
                 when(processed)]
            )  # fmt: skip

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    stamp = timezone.localdate().isoformat()
    response["Content-Disposition"] = f'attachment; filename="messages-{stamp}.csv"'
    return response
