"""Staff portal pages: plain Django views over portal.selectors and the services of other apps.

Every view resolves the staff member's organization first and reads only through it, so a
guessed id of another organization's patient, thread or dose is a 404.
"""

import csv
import json
import logging
import time
import uuid
from datetime import date, timedelta
from functools import wraps
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponseBadRequest, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from adherence.models import DoseSlot, MedicationSchedule
from entities.models import Patient
from entities.selectors import organization_for_user
from portal import selectors
from portal.forms import ScheduleForm, SendForm
from smsportal.spreadsheet import spreadsheet_cell

logger = logging.getLogger(__name__)
LIVE_STREAM_SECONDS = 300  # the browser reconnects by itself; bounds a stream's lifetime


def staff_view(view):
    """Login required; attaches `request.organization` (the staff member's) or shows why not."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        org_user = getattr(request.user, "organization_user", None)
        organization = org_user.organization if org_user is not None else organization_for_user(request.user)
        if organization is None and request.user.is_superuser:
            organization = _organization_chosen(request)
            if organization is None:
                return redirect(f"{reverse('portal:organizations')}?{urlencode({'next': request.get_full_path()})}")
            request.organization_switchable = True
        if organization is None:
            return render(request, "portal/no_organization.html", status=403)
        request.organization = organization
        # Times on every page are the organization's wall-clock times.
        with timezone.override(_tzinfo(organization)):
            return view(request, *args, **kwargs)

    return wrapper


CHOSEN_ORGANIZATION = "portal_organization_id"


def _organization_chosen(request):
    from entities.models import Organization

    chosen = request.session.get(CHOSEN_ORGANIZATION)
    return Organization.objects.filter(pk=chosen).first() if chosen else None


@login_required
def organizations(request):
    """A superuser belongs to no organization: the portal shows the one they choose here."""
    from django.utils.http import url_has_allowed_host_and_scheme

    from entities.models import Organization

    if not request.user.is_superuser:
        return redirect("portal:today")
    following = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(following, allowed_hosts={request.get_host()}):
        following = ""
    if request.method == "POST":
        try:
            chosen_id = uuid.UUID(request.POST.get("organization", ""))
        except ValueError:
            raise Http404("no such organization") from None
        organization = get_object_or_404(Organization, pk=chosen_id)
        request.session[CHOSEN_ORGANIZATION] = str(organization.pk)
        return redirect(following or "portal:today")
    chosen = _organization_chosen(request)
    return render(
        request,
        "portal/organizations.html",
        {"organizations": Organization.objects.order_by("name"), "chosen": chosen, "next": following},
    )


def _tzinfo(organization):
    from adherence.schedule import zone

    try:
        return zone(organization.timezone or "UTC")
    except ValueError:
        return zone("UTC")


def _page_path(request) -> str:
    """This page's URL without the `fragment` switch (where forms inside a fragment come back to)."""
    query = request.GET.copy()
    query.pop("fragment", None)
    return f"{request.path}?{query.urlencode()}" if query else request.path


def _fragment(request) -> bool:
    return request.GET.get("fragment") == "1"


def _page(request, qs, per_page=50):
    return Paginator(qs, per_page).get_page(request.GET.get("page"))


# --- Today -----------------------------------------------------------------------------------


@staff_view
@require_GET
def today(request):
    from adherence.services import dose_early_grace

    org = request.organization
    day = selectors.org_today(org)
    status = request.GET.get("status", "")
    query = request.GET.get("q", "").strip()
    page = _page(request, selectors.today_doses(organization=org, day=day, status=status, query=query), 50)
    context = {
        "day": day,
        "status": status,
        "q": query,
        "page": page,
        "counts": selectors.today_counts(organization=org, day=day),
        "page_path": _page_path(request),
        "remind_until": timezone.now() + dose_early_grace(),  # "Send reminder now" for doses due by then
        "filters": [("", "All"), ("pending", "Pending"), ("taken", "On time"), ("late", "Late"), ("missed", "Missed")],
    }
    if _fragment(request):
        return render(request, "portal/_today_body.html", context)
    from adherence.plugin import plugin_installed

    context["plugin_installed"] = plugin_installed(organization=org)
    return render(request, "portal/today.html", context)


@staff_view
@require_POST
def dose_remind(request, pk):
    """Send a pending dose's reminder now (the same once-only claim the beat uses)."""
    from adherence.services import dose_early_grace, reminder_send

    slot = get_object_or_404(
        DoseSlot.objects.select_related("patient", "schedule", "organization"), pk=pk, organization=request.organization
    )
    if slot.status != DoseSlot.Status.SCHEDULED:
        messages.info(request, "That dose's reminder was already sent.")
    elif slot.scheduled_at > timezone.now() + dose_early_grace():
        # A reply to it would not count yet (adherence.services.dose_reply_record).
        messages.error(request, "Too early: a dose's reminder can be sent from an hour before its time.")
    elif reminder_send(slot=slot):
        messages.success(request, f"Reminder sent to {slot.patient.full_name}.")
    else:
        messages.error(request, "The reminder could not be sent (no phone number or no gateway).")
    target = request.POST.get("next", "")
    return redirect(target if target.startswith("/portal/") else reverse("portal:today"))


@staff_view
@require_POST
def plugin_install(request):
    from adherence.plugin import plugin_install as install

    if install(organization=request.organization) is None:
        messages.error(request, "Plugins are not available in this installation.")
    else:
        messages.success(request, "The medication plugin is installed: confirming replies are recorded.")
    return redirect("portal:today")


# --- Adherence -------------------------------------------------------------------------------


def _range(request, default_days=30) -> tuple[date, date]:
    end = selectors.org_today(request.organization)
    try:
        days = max(1, min(int(request.GET.get("days", default_days)), 366))
    except ValueError:
        days = default_days
    return end - timedelta(days=days - 1), end


def _chart(bars):
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
    start, end = _range(request)
    query = request.GET.get("q", "").strip()
    bars, patients = selectors.adherence_summary(organization=org, start=start, end=end, query=query)
    context = {
        "start": start,
        "end": end,
        "days": (end - start).days + 1,
        "periods": [7, 30, 90],
        "q": query,
        "bars": bars,
        "chart": _chart(bars),
        "rates": selectors.rates(bars),
        "page": _page(request, patients),
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
                 c.slot.scheduled_at.isoformat(), c.received_at.isoformat(), "yes" if c.on_time else "late",
                 cell(c.reply)]
            )  # fmt: skip

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="confirmations-{start}-{end}.csv"'
    return response


@staff_view
def patient_detail(request, pk):
    org = request.organization
    patient = get_object_or_404(Patient, pk=pk, organization=org)
    start, end = _range(request)
    bars = selectors.adherence_by_day(organization=org, start=start, end=end, patient=patient)
    context = {
        "patient": patient,
        "start": start,
        "end": end,
        "days": (end - start).days + 1,
        "chart": _chart(bars),
        "rates": selectors.rates(bars),
        "schedules": MedicationSchedule.objects.filter(organization=org, patient=patient).order_by("medication"),
        "recent": DoseSlot.objects.filter(organization=org, patient=patient, scheduled_at__lte=timezone.now())
        .select_related("schedule", "confirmation")
        .order_by("-scheduled_at")[:20],
    }
    return render(request, "portal/patient.html", context)


@staff_view
def schedule_edit(request, patient_pk, pk=None):
    from adherence.services import schedule_save

    org = request.organization
    patient = get_object_or_404(Patient, pk=patient_pk, organization=org)
    schedule = (
        get_object_or_404(MedicationSchedule, pk=pk, organization=org, patient=patient)
        if pk
        else MedicationSchedule(organization=org, patient=patient, timezone=org.timezone or "UTC")
    )
    form = ScheduleForm(request.POST or None, instance=schedule)
    if request.method == "POST" and form.is_valid():
        schedule_save(schedule=form.save(commit=False))
        messages.success(request, f"Schedule for {schedule.medication} saved.")
        return redirect("portal:patient", pk=patient.pk)
    return render(request, "portal/schedule_form.html", {"form": form, "patient": patient, "schedule": schedule})


# --- Conversations ---------------------------------------------------------------------------


@staff_view
@require_GET
def conversations(request):
    org = request.organization
    query = request.GET.get("q", "").strip()
    context = {
        "q": query,
        "threads": selectors.recent_threads(organization=org),
        "found": selectors.entities_search(organization=org, query=query) if query else [],
    }
    if _fragment(request):
        return render(request, "portal/_threads.html", context)
    return render(request, "portal/conversations.html", context)


def _entity_or_404(request, entity_type, pk):
    entity = selectors.entity_get(organization=request.organization, entity_type=entity_type, entity_id=pk)
    if entity is None:
        raise Http404("no such person in your organization")
    return entity


@staff_view
@require_GET
def thread(request, entity_type, pk):
    entity = _entity_or_404(request, entity_type, pk)
    context = {
        "entity": entity,
        "entity_type": entity_type,
        "items": selectors.thread_messages(organization=request.organization, entity=entity),
    }
    if _fragment(request):
        return render(request, "portal/_thread_messages.html", context)
    from adherence.services import quiet_hours_release

    context["quiet_until"] = quiet_hours_release(organization=request.organization)
    return render(request, "portal/thread.html", context)


@staff_view
@require_GET
def number_thread(request, message_id):
    """The thread of a number nobody in the organization is registered with (opened from one of its
    messages, so the number never appears in a URL or an access log)."""
    phone = selectors.number_of_message(organization=request.organization, message_id=message_id)
    if phone is None:
        raise Http404("no such message in your organization")
    entity = selectors.entity_by_phone(organization=request.organization, phone=phone)
    if entity is not None:
        return redirect("portal:thread", entity.entity_type, entity.pk)
    from adherence.services import quiet_hours_release

    context = {
        "message_id": message_id,
        "masked": selectors.phone_masked(phone),
        "items": selectors.thread_messages(organization=request.organization, phone=phone),
        "quiet_until": quiet_hours_release(organization=request.organization),
    }
    if _fragment(request):
        return render(request, "portal/_thread_messages.html", context)
    return render(request, "portal/number_thread.html", context)


@staff_view
@require_POST
def number_thread_send(request, message_id):
    """Answer a number nobody is registered with ("Who is this? Please call the clinic")."""
    phone = selectors.number_of_message(organization=request.organization, message_id=message_id)
    if phone is None:
        raise Http404("no such message in your organization")
    return _thread_reply(request, phone=phone, entity_ids=(), back=redirect("portal:number-thread", message_id))


@staff_view
@require_POST
def message_resend(request, message_id):
    """Resend a message that may not have been sent (`unknown` past the deadline), once, on a
    person's decision: the copy is flagged a possible duplicate (docs/reliability.md)."""
    from messaging.services.reconcile import outbound_resend

    if not selectors.number_of_message(organization=request.organization, message_id=message_id):
        raise Http404("no such message in your organization")
    if outbound_resend(message_ids=[message_id], organization=request.organization):
        messages.success(request, "Sent again.")
    else:
        messages.error(request, "Not sent again: it was already resent, resolved, or the number opted out.")
    return redirect("portal:number-thread", message_id)


def _queue(request, *, recipients: list[str], body: str, entity_ids=()):
    """Queue a portal message (held in quiet hours) and tell open pages once it is committed."""
    from adherence.services import messages_queue_quiet
    from messaging import live

    result = messages_queue_quiet(organization=request.organization, recipients=recipients, body=body, source="portal")
    org_id = request.organization.pk
    sent = [(str(m.id), m.status) for m in result.messages]
    for entity_id in entity_ids or [None]:
        for message_id, status in sent:
            transaction.on_commit(
                lambda m=message_id, s=status, e=entity_id: live.publish(
                    organization_id=org_id,
                    event="outbound.message",
                    data={"id": m, "status": s, "entityId": str(e) if e else None},
                )
            )
    return result


@staff_view
@require_POST
def thread_send(request, entity_type, pk):
    entity = _entity_or_404(request, entity_type, pk)
    back = redirect("portal:thread", entity_type=entity_type, pk=entity.pk)
    if not entity.phone:
        return _thread_reply_answer(request, ("body", "this person has no phone number"), back)
    return _thread_reply(request, phone=str(entity.phone), entity_ids=[entity.pk], back=back)


def _thread_reply(request, *, phone: str, entity_ids, back):
    """Queue the composer's message to `phone`; answer JSON (the page's script) or redirect `back`."""
    from messaging.exceptions import MessageRejected, NoGatewayConfigured

    error = None
    try:
        with transaction.atomic():
            result = _queue(request, recipients=[phone], body=request.POST.get("body", ""), entity_ids=entity_ids)
        if result.refused:
            error = ("body", f"not sent: {result.refused[0][1]}")
    except MessageRejected as exc:
        error = (exc.field or "body", str(exc))
    except NoGatewayConfigured:
        error = ("body", "no gateway is configured for your organization")
    return _thread_reply_answer(request, error, back)


def _thread_reply_answer(request, error, back):
    if request.headers.get("Accept", "").startswith("application/json"):
        if error:
            return JsonResponse({"error": error[1], "field": error[0]}, status=400)
        return JsonResponse({"ok": True})
    if error:
        messages.error(request, error[1])
    return back


# --- Send ------------------------------------------------------------------------------------


@staff_view
def send(request):
    from messaging.exceptions import MessageRejected, NoGatewayConfigured

    org = request.organization
    form = SendForm(request.POST or None, organization=org)
    if request.method == "POST" and form.is_valid():
        people = form.cleaned_data["people"]
        try:
            with transaction.atomic():
                result = _queue(
                    request,
                    recipients=[str(p.phone) for p in people],
                    body=form.cleaned_data["body"],
                    entity_ids=[p.pk for p in people],
                )
        except MessageRejected as exc:
            form.add_error("body", str(exc))
        except NoGatewayConfigured:
            form.add_error(None, "No gateway is configured for your organization.")
        else:
            queued = sum(1 for m in result.messages if m.status != "failed")
            held = sum(1 for m in result.messages if m.next_attempt_at and m.status == "queued")
            text = f"{queued} message(s) queued."
            if held:
                text += f" {held} held until quiet hours end."
            if result.refused:
                text += f" {len(result.refused)} not sent: " + "; ".join(sorted({r for _, r in result.refused}))
            messages.success(request, text)
            return redirect("portal:send")
    return render(request, "portal/send.html", {"form": form})


@staff_view
@require_POST
def text_info(request):
    """Encoding and segment count of a draft, computed by messaging.text (the sender's rules)."""
    from django.conf import settings

    from messaging.text import text_info as info

    text = request.POST.get("text", "")
    result = info(text)
    per = (160 if result.segments == 1 else 153) if result.encoding == "GSM-7" else (70 if result.segments == 1 else 67)
    return JsonResponse(
        {
            "encoding": result.encoding,
            "segments": result.segments if text else 0,
            "units": result.units,
            "perSegment": per,
            "maxSegments": settings.SMSPORTAL_MAX_SEGMENTS,
        }
    )


# --- Phone simulator -------------------------------------------------------------------------


def _simulator_gateway(org):
    from gateways.models import Gateway

    return Gateway.objects.filter(organization=org, type="simulator", is_active=True).order_by("-is_default").first()


def _number(raw: str) -> str:
    """E.164 from a query string, where an unencoded "+" arrives as a space."""
    raw = raw.strip()
    return "+" + raw.lstrip("+") if raw else ""


@staff_view
@require_GET
def simulator(request):
    org = request.organization
    number = _number(request.GET.get("number", ""))
    people = selectors.simulator_numbers(organization=org)
    numbers = {str(p.phone) for p in people}
    if number and number not in numbers:
        raise Http404("not a number of your organization")
    context = {
        "people": people,
        "number": number,
        "person": next((p for p in people if str(p.phone) == number), None),
        "items": selectors.simulator_phone(organization=org, number=number) if number else [],
        "gateway": _simulator_gateway(org),
    }
    if _fragment(request):
        return render(request, "portal/_phone.html", context)
    return render(request, "portal/simulator.html", context)


@staff_view
@require_POST
def simulator_reply(request):
    """Reply as the phone: an InboundSms through the real inbound path (inbound_receive)."""
    from gateways.providers.base import InboundSms
    from gateways.selectors import gateway_sender_for
    from messaging.services.inbound import inbound_receive

    org = request.organization
    number = _number(request.POST.get("number", ""))
    text = request.POST.get("text", "")
    if not any(str(p.phone) == number for p in selectors.simulator_numbers(organization=org)):
        raise Http404("not a number of your organization")
    gateway = _simulator_gateway(org)
    if gateway is None:
        return JsonResponse({"error": "your organization has no simulator gateway", "field": "number"}, status=400)
    if not text.strip():
        return JsonResponse({"error": "type a reply", "field": "text"}, status=400)
    sms = InboundSms(
        sender=number,
        recipient=gateway_sender_for(gateway=gateway, recipient=number, organization_id=org.pk),
        text=text[:1600],
        provider_message_id=f"sim-in-{uuid.uuid4().hex}",
        received_at=timezone.now(),
        raw={"simulator": True},
    )
    with transaction.atomic():
        message, _ = inbound_receive(organization=org, gateway=gateway, sms=sms)
    return JsonResponse({"ok": True, "id": str(message.id)})


# --- Live updates (server-sent events) -------------------------------------------------------


@staff_view
@require_GET
def live(request):
    """The organization's live events as text/event-stream; pages refetch what changed."""
    from messaging import live as live_events

    org_id = request.organization.pk

    def stream():
        from django.db import connection

        # The stream never queries the database: give the connection back now instead of holding
        # it for the stream's lifetime (Django closes it only when the response finishes).
        connection.close()
        yield "retry: 1000\n\n"
        started = time.monotonic()
        events = live_events.subscribe(organization_id=org_id, timeout=10.0)
        try:
            for payload in events:
                if payload is None:
                    yield ": keep-alive\n\n"
                else:
                    try:
                        name = json.loads(payload).get("event", "message")
                    except ValueError:
                        continue
                    yield f"event: {name}\ndata: {payload}\n\n"
                if time.monotonic() - started > LIVE_STREAM_SECONDS:
                    return
        finally:
            events.close()

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
