"""Admin for inbound messages and keyword commands: who replied, what happened, and why it failed."""

from django.contrib import admin

from entities.admin_people import PersonColumnMixin
from entities.tenancy import OrganizationScopedAdmin
from messaging.models import InboundMessage, KeywordCommand


@admin.register(InboundMessage)
class InboundMessageAdmin(PersonColumnMixin, OrganizationScopedAdmin):
    list_display = [
        "received_at",
        "organization",
        "originator",
        "person",
        "status",
        "failure_reason",
        "command",
        "entity_type",
        "received_on",
    ]
    list_filter = ["status", "failure_reason", "command", "entity_type", "organization"]
    search_fields = ["originator", "provider_message_id", "id"]
    date_hierarchy = "received_at"
    list_select_related = ["organization", "gateway"]
    readonly_fields = [
        f.name for f in InboundMessage._meta.get_fields() if getattr(f, "concrete", False) and not f.many_to_many
    ]
    ordering = ["-received_at"]

    def get_queryset(self, request):
        # Unattributed replies belong to no organization: superusers handle them in their own list.
        return super().get_queryset(request).filter(organization__isnull=False)

    @admin.display(description="gateway", ordering="gateway__name")
    def received_on(self, obj):
        # A provider's webhook names our gateway; DHIS2's inbound API only the caller's gatewayid.
        return obj.gateway.name if obj.gateway else (obj.gateway_label or "—")

    def has_add_permission(self, request):
        return False  # messages come in through webhooks and the API only

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(KeywordCommand)
class KeywordCommandAdmin(OrganizationScopedAdmin):
    list_display = ["keyword", "organization", "action", "plugin_name", "is_active"]
    list_filter = ["action", "is_active", "organization"]
    search_fields = ["keyword", "plugin_name"]
