"""The admin in the organization's time zone: an organization's admin reads every time on every
admin page in the zone the portal and the overview use (`Organization.zone()`); a superuser, who
works across organizations, reads the server's (UTC). The header says which (`admin_time_zone_label`)."""

from django.utils import timezone

from entities.tenancy import acting_organization

ADMIN_PREFIX = "/admin/"


def admin_time_zone(request):
    """The zone the admin shows this request's times in: the acting organization's, else the server's."""
    organization = acting_organization(request) if request.user.is_authenticated else None
    return organization.zone() if organization is not None else timezone.get_default_timezone()


class AdminTimeZoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(ADMIN_PREFIX):
            return self.get_response(request)
        request.admin_time_zone = admin_time_zone(request)  # read again by the header's label
        timezone.activate(request.admin_time_zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


def admin_time_zone_label(request) -> list[str]:
    """UNFOLD["ENVIRONMENT"]: the header's label naming the zone of the page's times."""
    zone = getattr(request, "admin_time_zone", None) or admin_time_zone(request)
    return [f"Times in {zone}", "info"]
