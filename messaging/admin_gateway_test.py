"""The gateway admin with its "Send a test SMS" action: one message through exactly that gateway, by
the normal queue. The admin itself is gateways/admin.py; the action is added here, where the pipeline
is, so gateways never imports messaging."""

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from gateways.admin import GatewayAdmin
from gateways.exceptions import ConfigError
from gateways.forms import SendTestForm
from gateways.models import Gateway
from messaging.services.gateway_test import gateway_send_test


class GatewayTestSmsAdmin(GatewayAdmin):
    actions = [*GatewayAdmin.actions[:1], "send_test_sms", *GatewayAdmin.actions[1:]]

    @admin.action(description="Send a test SMS")
    def send_test_sms(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one gateway.", messages.ERROR)
            return None
        gateway = queryset.get()
        form = SendTestForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            try:
                message = gateway_send_test(gateway=gateway, recipient=form.cleaned_data["recipient"])
            except ConfigError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            except Exception as exc:  # noqa: BLE001 — shown to the admin, never a 500
                self.message_user(request, f"Test SMS not queued: {exc}", messages.ERROR)
            else:
                message.refresh_from_db()
                self.message_user(
                    request,
                    f"Test SMS {message.pk}: {message.status}"
                    + (f" ({message.error_reason})" if message.error_reason else ""),
                )
            return None
        if not self.has_change_permission(request, gateway):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "gateway": gateway,
            "form": form,
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/gateways/gateway/send_test.html", context)


admin.site.unregister(Gateway)
admin.site.register(Gateway, GatewayTestSmsAdmin)
