"""The organization choice: a superuser belongs to no organization, so the portal shows the one they
choose here (kept in the session; `shared.staff_view` reads it)."""

import uuid

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from entities.models import Organization
from portal.views.shared import CHOSEN_ORGANIZATION, organization_chosen


@login_required
def organizations(request):
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
    return render(
        request,
        "portal/organizations.html",
        {
            "organizations": Organization.objects.order_by("name"),
            "chosen": organization_chosen(request),
            "next": following,
        },
    )
