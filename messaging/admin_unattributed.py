"""Superuser-only admin for replies held unattributed (messaging/services/attribution.py).

No organization's staff ever sees these rows; a superuser reads them and assigns each to the
organization it belongs to, which then routes it normally.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.template.response import TemplateResponse

from entities.models import Organization
from entities.tenancy import PlatformAdmin
from messaging.models import UnattributedInboundMessage
from messaging.services.attribution import inbound_assign, unattributed_list


class AssignForm(forms.Form):
    organization = forms.ModelChoiceField(queryset=Organization.objects.order_by("name"))


@admin.register(UnattributedInboundMessage)
class UnattributedInboundMessageAdmin(PlatformAdmin):
    list_display = ["received_at", "originator", "recipient", "gateway", "text"]
    list_select_related = ["gateway"]
    search_fields = ["originator", "recipient", "provider_message_id"]
    ordering = ["-received_at"]
    fields = ["received_at", "originator", "recipient", "gateway", "gateway_label", "provider_message_id", "text"]
    readonly_fields = fields
    actions = ["assign_to_organization"]

    def has_add_permission(self, request, *args):
        return False  # replies come in through webhooks only

    def get_queryset(self, request):
        return unattributed_list().select_related("gateway")

    @admin.action(description="Assign to organization…")
    def assign_to_organization(self, request, queryset):
        form = AssignForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            organization = form.cleaned_data["organization"]
            ids = list(queryset.values_list("pk", flat=True))
            assigned = sum(inbound_assign(message_id=pk, organization=organization) for pk in ids)
            self.message_user(request, f"{assigned} repl{'y' if assigned == 1 else 'ies'} assigned to {organization}.")
            if assigned < len(ids):
                self.message_user(request, f"{len(ids) - assigned} could not be assigned.", messages.WARNING)
            return None
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "selected": [str(pk) for pk in queryset.values_list("pk", flat=True)],
            "messages_count": queryset.count(),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/messaging/unattributedinboundmessage/assign.html", context)
