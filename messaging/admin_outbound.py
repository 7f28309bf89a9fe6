"""Admin for outbound messages and opt-outs: watch the outbox, retry what failed, manage opt-outs."""

from django.contrib import admin

from entities.tenancy import OrganizationScopedAdmin
from messaging.models import OptOut, OutboundMessage
from messaging.services.reconcile import outbound_requeue_failed, outbound_resend


@admin.register(OutboundMessage)
class OutboundMessageAdmin(OrganizationScopedAdmin):
    """Read-only: messages change only through the pipeline (and the retry action)."""

    list_display = ["id", "recipient", "status", "segments", "encoding", "gateway", "source", "attempts", "created_at"]
    list_filter = ["status", "source", "encoding", "gateway", "created_at"]
    search_fields = ["=id", "recipient", "provider_message_id", "=batch_id", "idempotency_key"]
    list_select_related = ["gateway", "organization"]
    date_hierarchy = "created_at"
    actions = ["retry_failed", "resend_unknown"]
    show_full_result_count = False  # no COUNT(*) over a large outbox on every page

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in OutboundMessage._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # A message's page is view-only (no Save buttons, a POST is refused); the list keeps the
        # change permission its retry and resend actions need.
        return obj is None and super().has_change_permission(request)

    @admin.action(description="Send selected failed messages again")
    def retry_failed(self, request, queryset):
        count = outbound_requeue_failed(message_ids=list(queryset.values_list("id", flat=True)))
        noun = "message" if count == 1 else "messages"
        self.message_user(request, f"{count} failed {noun} queued again; opted-out numbers are skipped.")

    @admin.action(description="Resend selected messages that may not have been sent (unknown)")
    def resend_unknown(self, request, queryset):
        copies = outbound_resend(message_ids=list(queryset.values_list("id", flat=True)))
        noun = "message" if len(copies) == 1 else "messages"
        self.message_user(request, f"{len(copies)} {noun} sent again as possible duplicates; each at most once.")


@admin.register(OptOut)
class OptOutAdmin(OrganizationScopedAdmin):
    list_display = ["phone_number", "organization", "method", "created_at"]
    list_filter = ["method", "organization"]
    search_fields = ["phone_number"]
    readonly_fields = ["inbound_message", "created_at"]
    fields = ["organization", "phone_number", "method", "inbound_message", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        # A recorded opt-out stays the number's: editing it would move the block to another number
        # and lift it from the one that asked (deleting it is the explicit, audited way).
        fields = super().get_readonly_fields(request, obj)
        return [*fields, "phone_number", "method"] if obj is not None else fields
