"""Admin for message templates by language (the organization's reminder, caregiver, HELP … texts)."""

from django.contrib import admin

from entities.tenancy import OrganizationScopedAdmin
from messaging.message_templates import MessageTemplate, template_preview


@admin.register(MessageTemplate)
class MessageTemplateAdmin(OrganizationScopedAdmin):
    """The model's clean() refuses an unknown placeholder or a text over the segment limit (per locale)."""

    list_display = ["kind", "locale", "text", "segments", "updated_at"]
    list_filter = ["kind", "locale", "organization"]
    search_fields = ["text", "locale"]
    ordering = ["kind", "locale"]

    @admin.display(description="segments (typical values)")
    def segments(self, obj):
        preview = template_preview(obj.kind, obj.text)
        return f"{preview['segments']} · {preview['encoding']}"
