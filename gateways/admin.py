"""Django admin for gateways: a form per provider type (gateways/forms.py), default, token rotation.
The "Send a test SMS" action goes through the pipeline: messaging/admin_gateway_test.py adds it."""

from django.contrib import admin, messages
from django.db import transaction
from django.template.response import TemplateResponse

from entities.tenancy import OrganizationScopedAdmin, acting_organization
from gateways.exceptions import ConfigError, GatewayError
from gateways.forms import GatewayForm, copyable, gateway_fieldsets
from gateways.models import Gateway
from gateways.providers import ADAPTERS
from gateways.services import (
    gateway_inbound_warnings,
    gateway_retire_webhook_token,
    gateway_rotate_webhook_token,
    gateway_set_default,
    gateway_webhooks_register,
    inbound_numbers_set,
)
from gateways.webhook_url import gateway_webhook_url


@admin.register(Gateway)
class GatewayAdmin(OrganizationScopedAdmin):
    list_display = [
        "name",
        "type",
        "organization_shown",
        "is_default",
        "is_active",
        "rate_limit_per_second",
        "last_success_at",
        "last_error_at",
        "last_error_short",
        "down_until",
    ]
    list_filter = ["type", "is_active", "is_default"]
    search_fields = ["name"]
    list_select_related = ["organization"]
    readonly_fields = [
        "type",
        "inbound_url",
        "status_url",
        "last_success_at",
        "last_error_at",
        "last_error",
        "down_until",
    ]
    actions = ["make_default", "rotate_webhook_token", "retire_previous_webhook_token", "register_webhooks"]

    def _type_for(self, request, obj) -> str:
        if obj is not None:
            return obj.type
        type_ = request.GET.get("type") or request.POST.get("type") or ""
        return type_ if type_ in ADAPTERS else ""

    def add_view(self, request, form_url="", extra_context=None):
        if not self._type_for(request, None):
            context = {
                **self.admin_site.each_context(request),
                "types": [
                    (a.type, a.label, a.config_spec.description)
                    for a in sorted(ADAPTERS.values(), key=lambda a: a.label.casefold())
                ],
                "opts": self.model._meta,
                "has_view_permission": self.has_view_permission(request),
                "title": "Add gateway",
            }
            return TemplateResponse(request, "admin/gateways/gateway/choose_type.html", context)
        return super().add_view(request, form_url, extra_context)

    def _request_organization(self, request):
        return acting_organization(request)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = GatewayForm.for_type(self._type_for(request, obj))
        form.request_organization = self._request_organization(request)
        kwargs["form"] = form
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request, obj=None):
        return gateway_fieldsets(
            self._type_for(request, obj), with_organization=request.user.is_superuser, existing=obj is not None
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.type = form.gateway_type
        if not request.user.is_superuser:
            obj.organization = self._request_organization(request)
        tokens = obj.webhook_tokens()
        obj.config = form.gateway_config
        obj.secrets = {**form.gateway_secrets, "webhookTokens": tokens}
        obj.ensure_webhook_token()
        with transaction.atomic():
            first = (
                not Gateway.objects.filter(organization=obj.organization, is_default=True).exclude(pk=obj.pk).exists()
            )
            if not form.cleaned_data.get("make_default") and obj.is_default and change:
                obj.is_default = False
            obj.save()
            inbound_numbers_set(obj, form.inbound_numbers)
            if form.cleaned_data.get("make_default") or first:
                gateway_set_default(gateway=obj)
        for warning in gateway_inbound_warnings(gateway=obj):
            messages.warning(request, warning)

    # -- display ---------------------------------------------------------------------------

    @admin.display(description="organization", ordering="organization__name")
    def organization_shown(self, obj):
        return obj.organization or "Global (organizations without their own gateway)"

    @admin.display(description="last error")
    def last_error_short(self, obj):
        return (obj.last_error or "")[:60]

    @admin.display(description="inbound URL (replies)")
    def inbound_url(self, obj):
        return copyable(gateway_webhook_url(gateway=obj, kind="inbound"))

    @admin.display(description="status URL (delivery reports)")
    def status_url(self, obj):
        return copyable(gateway_webhook_url(gateway=obj, kind="status"))

    # -- actions ---------------------------------------------------------------------------

    @admin.action(description="Make default for its organization")
    def make_default(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one gateway.", messages.ERROR)
            return
        gateway = gateway_set_default(gateway=queryset.get())
        self.message_user(request, f"{gateway.name} is set to default.")

    @admin.action(description="Rotate webhook token (previous stays valid)")
    def rotate_webhook_token(self, request, queryset):
        for gateway in queryset:
            gateway_rotate_webhook_token(gateway=gateway)
        self.message_user(request, "New webhook URLs issued; update the provider consoles, then retire the old token.")

    @admin.action(description="Retire the previous webhook token")
    def retire_previous_webhook_token(self, request, queryset):
        for gateway in queryset:
            gateway_retire_webhook_token(gateway=gateway)
        self.message_user(request, "Previous webhook tokens retired.")

    @admin.action(
        description="Register webhook URLs with the provider (SMS Gateway for Android)", permissions=["change"]
    )
    def register_webhooks(self, request, queryset):
        for gateway in queryset:
            try:
                registered = gateway_webhooks_register(gateway=gateway)
            except (ConfigError, GatewayError) as exc:
                self.message_user(request, f"{gateway.name}: not registered: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{gateway.name}: {len(registered)} webhooks registered.")


# Register the number-assignment and prefix-route admins.
from gateways import admin_numbers, admin_routes  # noqa: E402, F401
