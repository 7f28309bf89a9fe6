"""Admin for plugins: registrations (secret shown once, rotatable; form in plugins/forms.py), invocations, keys."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from entities.tenancy import OrganizationScopedAdmin, PlatformAdmin
from plugins.forms import PluginRegistrationForm, RotateSecretForm
from plugins.invocations import invocation_retry_now
from plugins.models import PluginInvocation, PluginRegistration, SigningKey
from plugins.registrations import registration_rotate_secret


@admin.register(PluginRegistration)
class PluginRegistrationAdmin(OrganizationScopedAdmin):
    form = PluginRegistrationForm
    list_display = ["name", "organization", "kind", "url", "handler", "enabled", "max_attempts", "timeout_seconds"]
    list_filter = ["enabled", "source", "organization"]
    search_fields = ["name", "url", "handler"]
    readonly_fields = ["id", "masked_secret", "source", "created_at", "updated_at"]

    @admin.display(description="Webhook secret")
    def masked_secret(self, obj):
        # Shown once, when created or rotated; afterwards not even a fragment of it.
        if not obj.webhook_secret:
            return "—"
        rotate = reverse("admin:plugins_pluginregistration_rotate_secret", args=[obj.pk])
        return format_html('set (hidden) · <a class="text-primary-600" href="{}">Rotate secret</a>', rotate)

    def save_model(self, request, obj, form, change):
        new_secret = bool(obj.url and not obj.webhook_secret)
        if new_secret:
            obj.webhook_secret = PluginRegistration.new_webhook_secret()
        if obj.handler:
            obj.webhook_secret = ""
        super().save_model(request, obj, form, change)
        request.plugin_secret_shown_once = obj.webhook_secret if new_secret else ""

    def response_add(self, request, obj, post_url_continue=None):
        return self._secret_once(request, obj) or super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        return self._secret_once(request, obj) or super().response_change(request, obj)

    def _secret_once(self, request, obj, *, rotated: bool = False):
        """The page that shows a new secret, once: it is rendered into this response, never stored."""
        secret = getattr(request, "plugin_secret_shown_once", "")
        if not secret:
            return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "registration": obj,
            "secret": secret,
            "rotated": rotated,
            "title": f"Webhook secret of {obj.name}",
        }
        return TemplateResponse(request, "admin/plugins/pluginregistration/secret_once.html", context)

    def get_urls(self):
        rotate = path(
            "<path:object_id>/rotate-secret/",
            self.admin_site.admin_view(self.rotate_secret_view),
            name="plugins_pluginregistration_rotate_secret",
        )
        return [rotate, *super().get_urls()]

    def rotate_secret_view(self, request, object_id):
        registration = self.get_object(request, object_id)
        if registration is None or not registration.url:
            raise Http404("no such webhook plugin")
        if not self.has_change_permission(request, registration):
            raise PermissionDenied
        form = RotateSecretForm(request.POST if request.method == "POST" else None)
        if form.is_valid():
            request.plugin_secret_shown_once = registration_rotate_secret(registration=registration)
            return self._secret_once(request, registration, rotated=True)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "registration": registration,
            "form": form,
            "title": f"Rotate the webhook secret of {registration.name}",
        }
        return TemplateResponse(request, "admin/plugins/pluginregistration/rotate_secret.html", context)


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
