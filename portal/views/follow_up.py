"""The Follow up page: patients who missed doses in a row or stopped replying, as staff tasks.

Staff take an item (or leave it to the team), record what they did and close it; the list
updates live (followup.* events) like Today. Logic lives in adherence/follow_up.py.
"""

import uuid

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from adherence.models import FollowUp
from portal import selectors
from portal.selectors import follow_up as reads
from portal.views.shared import is_fragment, page_path, paginate, staff_view


@staff_view
@require_GET
def follow_up_list(request):
    from adherence.follow_up import follow_up_summary

    org = request.organization
    view = request.GET.get("view", "")
    reason = request.GET.get("reason", "")
    query = request.GET.get("q", "").strip()[:100]
    qs = reads.follow_up_list(
        organization=org, view=view, reason=reason, query=query, staff=reads.staff_of(request.user)
    )
    page = paginate(request, qs, 50)
    items = list(page)
    doses = reads.recent_doses(organization=org, patient_ids=[i.patient_id for i in items], now=timezone.now())
    for item in items:
        item.recent_doses = doses.get(item.patient_id, [])
    context = {
        "page": page,
        "items": items,
        "view": view,
        "reason": reason,
        "q": query,
        "views": reads.VIEWS,
        "reasons": FollowUp.Reason.choices,
        "summary": follow_up_summary(organization=org),
        "me": reads.staff_of(request.user),
        "page_path": page_path(request),
    }
    if is_fragment(request):
        return render(request, "portal/_follow_up_body.html", context)
    return render(request, "portal/follow_up.html", context)


def _item_or_404(request, pk) -> FollowUp:
    item = reads.follow_up_get(organization=request.organization, pk=pk)
    if item is None:
        raise Http404("no such follow-up item in your organization")
    return item


@staff_view
@require_GET
def follow_up_detail(request, pk):
    """The item's page; `?fragment=1&part=status|activity` is one of its live parts (the forms
    between them are not refreshed: a live update never wipes what staff are typing)."""
    org = request.organization
    item = _item_or_404(request, pk)
    part = request.GET.get("part") if is_fragment(request) else None
    context = {"item": item}
    if part in (None, "status"):
        context["doses"] = reads.recent_doses(
            organization=org, patient_ids=[item.patient_id], now=timezone.now(), per_patient=14
        ).get(item.patient_id, [])
    if part in (None, "activity"):
        context["conversation"] = selectors.thread_messages(organization=org, entity=item.patient, limit=10)
        context["history"] = item.events.select_related("assigned_to", "by").order_by("-at", "-id")
    if part == "status":
        return render(request, "portal/_follow_up_status.html", context)
    if part == "activity":
        return render(request, "portal/_follow_up_activity.html", context)
    context.update(outcomes=FollowUp.Outcome.choices, staff=reads.staff_members(organization=org))
    return render(request, "portal/follow_up_detail.html", context)


@staff_view
@require_POST
def follow_up_action(request, pk):
    """assign / record (optionally closing) / close / reopen, then back to where the form was."""
    from adherence.follow_up import (
        FollowUpError,
        follow_up_assign,
        follow_up_close,
        follow_up_record,
        follow_up_reopen,
    )

    item = _item_or_404(request, pk)
    action = request.POST.get("action", "")
    note = request.POST.get("note", "")
    try:
        if action == "assign":
            assignee = _assignee(request)
            follow_up_assign(item=item, assignee=assignee, by=request.user)
            messages.success(request, f"Assigned to {assignee.full_name}." if assignee else "Left to the team.")
        elif action == "record":
            close = request.POST.get("close") == "1"
            follow_up_record(
                item=item, outcome=request.POST.get("outcome", ""), note=note, close=close, by=request.user
            )
            messages.success(request, "Outcome recorded" + (" and the item closed." if close else "."))
        elif action == "close":
            follow_up_close(item=item, note=note, by=request.user)
            messages.success(request, f"Closed: {item.patient.full_name}.")
        elif action == "reopen":
            follow_up_reopen(item=item, note=note, by=request.user)
            messages.success(request, f"Reopened: {item.patient.full_name}.")
        else:
            messages.error(request, "action: one of assign, record, close, reopen")
    except FollowUpError as exc:
        messages.error(request, str(exc))
    target = request.POST.get("next", "")
    if target.startswith("/portal/"):
        return redirect(target)
    return redirect("portal:follow-up-detail", pk=item.pk)


def _assignee(request):
    from adherence.follow_up import FollowUpError

    value = request.POST.get("assignee", "")
    if value in ("", "team"):
        return None
    if value == "me":
        me = reads.staff_of(request.user)
        if me is None or me.organization_id != request.organization.pk:
            raise FollowUpError("assignee", "you are not a staff member of this organization")
        return me
    staff = reads.staff_members(organization=request.organization).filter(pk=value).first() if _is_uuid(value) else None
    if staff is None:
        raise FollowUpError("assignee", "not a staff member of this organization")
    return staff


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
