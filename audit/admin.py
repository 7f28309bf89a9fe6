"""The audit trail in the admin: read-only; an organization's admins see their organization's entries,
superusers every entry (global gateways' too)."""

from django.contrib import admin

from audit.models import AuditEntry
from entities.selectors import organization_for_user

# auditlog registers its own (unscoped) admin for the entry model: ours replaces it.
if admin.site.is_registered(AuditEntry):
    admin.site.unregister(AuditEntry)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["timestamp", "acted_by", "action", "content_type", "object_repr", "remote_addr"]
    list_filter = ["action", "content_type", "timestamp"]
    search_fields = ["object_repr", "actor__username", "api_key_prefix"]
    list_select_related = ["actor", "content_type"]
    date_hierarchy = "timestamp"
    fields = [
        "timestamp",
        "acted_by",
        "action",
        "content_type",
        "object_pk",
        "object_repr",
        "changes",
        "remote_addr",
        "organization_id",
    ]
    readonly_fields = fields

    @admin.display(description="by")
    def acted_by(self, entry):
        return entry.acted_by

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        organization = organization_for_user(request.user)
        return queryset.filter(organization_id=organization.pk) if organization else queryset.none()

    def has_view_permission(self, request, obj=None):
        # An organization's admin: staff of an organization with the view permission (the admin role).
        return request.user.is_superuser or (
            organization_for_user(request.user) is not None and super().has_view_permission(request, obj)
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
