"""Conversations: the recent threads, one person's thread, the thread of an unregistered number, and
replies sent from a thread's composer."""

from django.contrib import messages
from django.db import transaction
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from messaging.exceptions import MessageRejected, NoGatewayConfigured
from messaging.services.reconcile import outbound_resend
from portal import selectors
from portal.views.send import queue_and_announce
from portal.views.shared import is_fragment, staff_view


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
    if is_fragment(request):
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
    if is_fragment(request):
        return render(request, "portal/_thread_messages.html", context)

    context["quiet_until"] = request.organization.quiet_hours_release()
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

    context = {
        "message_id": message_id,
        "masked": selectors.phone_masked(phone),
        "items": selectors.thread_messages(organization=request.organization, phone=phone),
        "quiet_until": request.organization.quiet_hours_release(),
    }
    if is_fragment(request):
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
    if not selectors.number_of_message(organization=request.organization, message_id=message_id):
        raise Http404("no such message in your organization")
    if outbound_resend(message_ids=[message_id], organization=request.organization):
        messages.success(request, "Sent again.")
    else:
        messages.error(request, "Not sent again: it was already resent, resolved, or the number opted out.")
    return redirect("portal:number-thread", message_id)


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
    body = request.POST.get("body", "")
    error = None
    try:
        with transaction.atomic():
            result = queue_and_announce(request, recipients=[phone], body=body, entity_ids=entity_ids)
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
