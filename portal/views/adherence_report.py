"""The adherence report: confirmed, late and missed doses over a period, and its CSV export."""

import csv
from datetime import date, timedelta

from django.http import HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal import selectors
from portal.views.shared import paginate, staff_view
from smsportal.spreadsheet import spreadsheet_cell


def days_range(request, default_days=30) -> tuple[date, date]:
    """The last `?days=` days (1–366) up to the organization's today."""
    end = selectors.org_today(request.organization)
    try:
        days = max(1, min(int(request.GET.get("days", default_days)), 366))
    except ValueError:
        days = default_days
    return end - timedelta(days=days - 1), end


def chart(bars):
    """Stacked bars as SVG geometry: 100 units tall, one 10-unit column per day."""
    peak = max((b.total for b in bars), default=0) or 1
    columns = []
    for i, bar in enumerate(bars):
        y = 100.0
        rects = []
        for kind in ("taken", "late", "missed"):
            h = 100.0 * getattr(bar, kind) / peak
            y -= h
            if h:
                rects.append({"kind": kind, "y": round(y, 2), "h": round(h, 2)})
        columns.append({"x": i * 10 + 1, "bar": bar, "rects": rects})
    return {"columns": columns, "width": len(bars) * 10, "peak": peak}


@staff_view
@require_GET
def adherence(request):
    org = request.organization
    start, end = days_range(request)
    query = request.GET.get("q", "").strip()
    bars, patients = selectors.adherence_summary(organization=org, start=start, end=end, query=query)
    context = {
        "start": start,
        "end": end,
        "days": (end - start).days + 1,
        "periods": [7, 30, 90],
        "q": query,
        "bars": bars,
        "chart": chart(bars),
        "rates": selectors.rates(bars),
        "page": paginate(request, patients),
    }
    selectors.patients_attach(context["page"].object_list)
    return render(request, "portal/adherence.html", context)


@staff_view
@require_GET
def adherence_export(request):
    """CSV of confirmations (and misses) for a date range: ?from=YYYY-MM-DD&to=YYYY-MM-DD."""
    try:
        start = date.fromisoformat(request.GET.get("from", ""))
        end = date.fromisoformat(request.GET.get("to", ""))
    except ValueError:
        return HttpResponseBadRequest("from and to must be dates as YYYY-MM-DD", content_type="text/plain")
    if end < start or (end - start).days > 366:
        return HttpResponseBadRequest("to must be on or after from, at most 366 days later", content_type="text/plain")
    rows = selectors.confirmations_for_export(organization=request.organization, start=start, end=end)

    class Echo:
        def write(self, value):
            return value

    writer = csv.writer(Echo())

    def cell(value) -> str:
        return spreadsheet_cell(str(value))  # never a formula (CSV injection)

    def lines():
        yield writer.writerow(
            ["patient_id", "patient", "national_id", "medication", "dose_date", "dose_time", "dose_utc",
             "received_utc", "on_time", "reply"]
        )  # fmt: skip
        for c in rows.iterator(chunk_size=2000):
            yield writer.writerow(
                [c.patient_id, cell(c.patient.full_name), cell(c.patient.national_id), cell(c.slot.schedule.medication),
                 c.slot.local_date.isoformat(), c.slot.local_time.strftime("%H:%M"),
                 c.slot.scheduled_at.isoformat(), c.received_at.isoformat(), "yes" if c.on_time else "no",
                 cell(c.reply)]
            )  # fmt: skip

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="confirmations-{start}-{end}.csv"'
    return response
