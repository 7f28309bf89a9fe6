"""The Today page: the organization's doses of the day, a reminder sent by hand, the plugin's install."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from adherence.models import DoseSlot
from adherence.plugin import plugin_install as install
from adherence.plugin import plugin_installed
from adherence.services import dose_early_grace, reminder_send
from portal import selectors
from portal.views.shared import is_fragment, page_path, paginate, staff_view


@staff_view
@require_GET
def today(request):
    org = request.organization
    day = selectors.org_today(org)
    status = request.GET.get("status", "")
    query = request.GET.get("q", "").strip()
    page = paginate(request, selectors.today_doses(organization=org, day=day, status=status, query=query), 50)
    context = {
        "day": day,
        "status": status,
        "q": query,
        "page": page,
        "counts": selectors.today_counts(organization=org, day=day),
        "page_path": page_path(request),
        "remind_until": timezone.now() + dose_early_grace(),  # "Send reminder now" for doses due by then
        "early_minutes": int(dose_early_grace().total_seconds() // 60),
        "next_reminder": selectors.next_reminder(organization=org),
        # `make run` (eager Celery): the dev server itself sends reminders; there is no worker or beat.
        "embedded": settings.CELERY_TASK_ALWAYS_EAGER,
        "filters": [("", "All"), ("pending", "Pending"), ("taken", "On time"), ("late", "Late"), ("missed", "Missed")],
    }
    if is_fragment(request):
        return render(request, "portal/_today_body.html", context)

    context["plugin_installed"] = plugin_installed(organization=org)
    return render(request, "portal/today.html", context)


@staff_view
@require_POST
def dose_remind(request, pk):
    """Send a pending dose's reminder now (the same once-only claim the beat uses)."""
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
    if install(organization=request.organization) is None:
        messages.error(request, "Plugins are not available in this installation.")
    else:
        messages.success(request, "The medication plugin is installed: confirming replies are recorded.")
    return redirect("portal:today")
