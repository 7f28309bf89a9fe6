"""The audit trail in the admin, through the tenancy layer: read-only; an organization's admins
(the role's view permission) see their organization's entries, superusers every entry."""

from django.contrib import admin

from audit.models import AuditEntry
from entities.tenancy import OrganizationScopedAdmin

# auditlog registers its own (unscoped) admin for the entry model: ours replaces it.
if admin.site.is_registered(AuditEntry):
    admin.site.unregister(AuditEntry)


@admin.register(AuditEntry)
class AuditEntryAdmin(OrganizationScopedAdmin):
    list_display = ["timestamp", "acted_by", "action", "content_type", "object_repr", "remote_addr", "organization"]
    list_filter = ["action", "content_type", "timestamp"]
    search_fields = ["object_repr", "actor__username", "api_key_prefix"]
    list_select_related = ["actor", "content_type", "organization"]
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
        "organization_id",  # the id: the organization may be gone
    ]
    readonly_fields = fields

    @admin.display(description="by")
    def acted_by(self, entry):
        return entry.acted_by

    def has_add_permission(self, request, *args):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
