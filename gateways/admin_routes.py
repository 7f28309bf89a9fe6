"""Admin of an organization's prefix routes (tenancy: entities/tenancy.py). Validation is the model's
(gateways/route_rules.py `route_clean`): the same rules as the API."""

from django.contrib import admin

from entities.tenancy import OrganizationScopedAdmin
from gateways.models import GatewayRoute


@admin.register(GatewayRoute)
class GatewayRouteAdmin(OrganizationScopedAdmin):
    list_display = ["prefix", "gateway", "fallback", "organization"]
    list_select_related = ["gateway", "fallback", "organization"]
    list_filter = ["gateway"]
    search_fields = ["prefix"]
    fields = ["organization", "prefix", "gateway", "fallback"]
    ordering = ["organization", "prefix"]
