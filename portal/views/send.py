"""The Send page (one message to chosen people) and the composer's live segment count; also the
queueing every portal composer shares (`queue_and_announce`)."""

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import pluralize
from django.views.decorators.http import require_POST

from messaging import live
from messaging.exceptions import MessageRejected, NoGatewayConfigured
from messaging.services.outbound import messages_queue
from portal.forms import SendForm
from portal.selectors import phone_masked
from portal.views.shared import staff_view
from smsportal.text import text_info as info


def queue_and_announce(request, *, recipients: list[str], body: str, entity_ids=(), program=None):
    """Queue a portal message (held in quiet hours) and tell open pages once it is committed."""
    result = messages_queue(
        organization=request.organization, recipients=recipients, body=body, source="portal", program=program
    )
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
def send(request):
    org = request.organization
    form = SendForm(request.POST or None, organization=org)
    if request.method == "POST" and form.is_valid():
        people = form.cleaned_data["people"]
        recipients = list(dict.fromkeys([str(p.phone) for p in people] + form.cleaned_data["numbers"]))
        try:
            with transaction.atomic():
                result = queue_and_announce(
                    request,
                    recipients=recipients,
                    body=form.cleaned_data["body"],
                    entity_ids=[p.pk for p in people],
                    program=form.cleaned_data.get("program"),
                )
        except MessageRejected as exc:
            form.add_error("body", str(exc))
        except NoGatewayConfigured:
            form.add_error(None, "No gateway is configured for your organization.")
        else:
            queued = sum(1 for m in result.messages if m.status != "failed")
            held = sum(1 for m in result.messages if m.next_attempt_at and m.status == "queued")
            text = f"{queued} message{pluralize(queued)} queued."
            if held:
                text += f" {held} held until quiet hours end."
            if result.refused:
                # Which ones, by their last digits (a shared screen), and why: opted out, invalid.
                text += f" {len(result.refused)} not sent: " + "; ".join(
                    f"{phone_masked(number)} ({reason})" for number, reason in result.refused[:20]
                )
            messages.success(request, text)
            return redirect("portal:send")
    return render(request, "portal/send.html", {"form": form})


@staff_view
@require_POST
def text_info(request):
    """Encoding and segment count of a draft, computed by smsportal.text (the sender's rules)."""
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
