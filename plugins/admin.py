"""Admin for plugins: registrations (secret never shown), invocations with filters and "retry now"."""

from django.contrib import admin, messages

from entities.tenancy import OrganizationScopedAdmin, PlatformAdmin
from plugins.invocations import invocation_retry_now
from plugins.models import PluginInvocation, PluginRegistration, SigningKey


@admin.register(PluginRegistration)
class PluginRegistrationAdmin(OrganizationScopedAdmin):
    list_display = ["name", "organization", "kind", "url", "handler", "enabled", "max_attempts", "timeout_seconds"]
    list_filter = ["enabled", "source", "organization"]
    search_fields = ["name", "url", "handler"]
    readonly_fields = ["id", "masked_secret", "source", "created_at", "updated_at"]
    exclude = ["webhook_secret"]

    @admin.display(description="Webhook secret")
    def masked_secret(self, obj):
        # Shown once, at creation (API); afterwards not even a fragment of it.
        return "set (hidden)" if obj.webhook_secret else "—"

    def save_model(self, request, obj, form, change):
        if obj.url and not obj.webhook_secret:
            obj.webhook_secret = PluginRegistration.new_webhook_secret()
        if obj.handler:
            obj.webhook_secret = ""
        super().save_model(request, obj, form, change)


@admin.register(PluginInvocation)
class PluginInvocationAdmin(OrganizationScopedAdmin):
    list_display = [
        "created_at",
        "registration",
        "action",
        "status",
        "attempts",
        "max_attempts",
        "last_status_code",
        "last_error",
        "last_duration_ms",
    ]
    list_filter = ["status", "action", "registration__name", "organization"]
    search_fields = ["id", "inbound_message__id", "registration__name"]
    list_select_related = ["registration"]
    date_hierarchy = "created_at"
    readonly_fields = [
        f.name
        for f in PluginInvocation._meta.get_fields()
        if getattr(f, "concrete", False) and not f.many_to_many and f.name != "payload"
    ]
    exclude = ["payload"]  # health data; the message admin shows what arrived
    actions = ["retry_now"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Retry now")
    def retry_now(self, request, queryset):
        retried = sum(invocation_retry_now(invocation=inv) for inv in queryset)
        messages.info(request, f"{retried} invocation(s) queued for another attempt.")


@admin.register(SigningKey)
class SigningKeyAdmin(PlatformAdmin):
    list_display = ["kid", "created_at", "expires_at"]
    readonly_fields = ["kid", "public_jwk", "created_at", "expires_at"]
    exclude = ["private_key_pem"]

    def has_add_permission(self, request):
        return False  # `manage.py rotate_signing_key`
