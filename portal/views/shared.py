"""What every portal page shares: the `staff_view` gate (sign-in, the organization, its time zone)
and the paging and fragment helpers the pages' scripts rely on."""

from functools import wraps
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from entities.models import Organization
from entities.selectors import organization_for_user

# Session key of the organization a superuser (who belongs to none) chose on the organizations page.
CHOSEN_ORGANIZATION = "portal_organization_id"


def staff_view(view):
    """Login required; attaches `request.organization` (the staff member's) or shows why not."""

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        org_user = getattr(request.user, "organization_user", None)
        organization = org_user.organization if org_user is not None else organization_for_user(request.user)
        if organization is None and request.user.is_superuser:
            organization = organization_chosen(request)
            if organization is None:
                return redirect(f"{reverse('portal:organizations')}?{urlencode({'next': request.get_full_path()})}")
            request.organization_switchable = True
        if organization is None:
            return render(request, "portal/no_organization.html", status=403)
        request.organization = organization
        # Times on every page are the organization's wall-clock times.
        with timezone.override(organization.zone()):
            return view(request, *args, **kwargs)

    return wrapper


def organization_chosen(request):
    chosen = request.session.get(CHOSEN_ORGANIZATION)
    return Organization.objects.filter(pk=chosen).first() if chosen else None


def page_path(request) -> str:
    """This page's URL without the `fragment` switch (where forms inside a fragment come back to)."""
    query = request.GET.copy()
    query.pop("fragment", None)
    return f"{request.path}?{query.urlencode()}" if query else request.path


def is_fragment(request) -> bool:
    """`?fragment=1`: the page's script refetches only the part that changed (after a live event)."""
    return request.GET.get("fragment") == "1"


def paginate(request, qs, per_page=50):
    return Paginator(qs, per_page).get_page(request.GET.get("page"))
