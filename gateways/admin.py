"""Django admin for gateways: a form per provider type, secrets masked, default, test SMS, token rotation.

Validation is the API's (gateways.config.config_validate), so the admin and the DHIS2 gateway API
accept exactly the same configurations. Secrets are write-only here: a blank field keeps the
stored value; nothing secret is ever rendered back into the page.
"""

import json
import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.template.response import TemplateResponse
from django.utils.html import format_html

from entities.models import Organization
from entities.tenancy import OrganizationScopedAdmin, acting_organization
from gateways.config import MASK, SPECS, ConfigError, config_representation, config_validate
from gateways.models import Gateway
from gateways.services import (
    gateway_inbound_warnings,
    gateway_retire_webhook_token,
    gateway_rotate_webhook_token,
    gateway_set_default,
    inbound_numbers_set,
)
from gateways.webhook_url import gateway_webhook_url
from messaging.services.gateway_test import gateway_send_test
from smsportal.phones import InvalidPhoneNumber, to_e164

MODEL_FIELDS = ["organization", "name", "is_active", "fallback", "rate_limit_per_second", "max_sms_length"]
# Human labels; the help text keeps the JSON (API) name, e.g. "API field: accountSid".
LABELS = {
    "urlTemplate": "URL template",
    "username": "Username",
    "from": "Sender (from)",
    "sendUrlParameters": "Send the body as URL parameters",
    "longMessageMaxParts": "Long message: max parts",
    "repliable": "Repliable (collect replies without a sender number)",
    "configurationTemplate": "Body template",
    "useGet": "Use GET",
    "method": "HTTP method",
    "contentType": "Content type",
    "parameters": "Parameters",
    "messageParameter": "Message parameter name",
    "recipientParameter": "Recipient parameter name",
    "dhis2TextEncoding": "DHIS2 text encoding",
    "successContains": "Success reply contains",
    "responseIdField": "Provider id field in the reply",
    "inboundFromField": "Reply callback: sender field",
    "inboundToField": "Reply callback: recipient field",
    "inboundTextField": "Reply callback: text field",
    "inboundIdField": "Reply callback: id field",
    "inboundDateField": "Reply callback: date field",
    "statusIdField": "Status callback: message id field",
    "statusField": "Status callback: status field",
    "statusErrorField": "Status callback: error field",
    "statusMap": "Status map",
    "accountSid": "Account SID",
    "messagingServiceSid": "Messaging Service SID",
    "authToken": "Auth token",
    "secondaryAuthToken": "Secondary auth token",
    "password": "Password",
    "service": "AWS service",
    "region": "AWS region",
    "accessKeyId": "Access key ID",
    "secretAccessKey": "Secret access key",
    "endpointUrl": "Endpoint URL",
    "originationIdentity": "Origination identity",
    "configurationSetName": "Configuration set name",
    "senderId": "Sender ID",
    "topicArns": "Topic ARNs",
}
# Fields shown as a dropdown: JSON name → choices ("" = the default).
CHOICES = {
    "method": [("", "POST (default)"), ("GET", "GET"), ("POST", "POST"), ("PUT", "PUT")],
    "contentType": [
        ("", "Form URL-encoded (default)"),
        ("FORM_URL_ENCODED", "Form URL-encoded (FORM_URL_ENCODED)"),
        ("APPLICATION_JSON", "JSON (APPLICATION_JSON)"),
        ("APPLICATION_XML", "XML (APPLICATION_XML)"),
        ("TEXT_PLAIN", "Plain text (TEXT_PLAIN)"),
    ],
    "service": [
        ("", "SNS publish (default)"),
        ("sns", "SNS publish (sns)"),
        ("pinpoint-sms-voice-v2", "End User Messaging send_text_message (pinpoint-sms-voice-v2)"),
    ],
}
HELP = {
    "urlTemplate": "Provider API URL; empty = the provider's real endpoint. Private addresses are refused.",
    "configurationTemplate": "Body with ${text}, ${recipients}, ${recipients_no_plus}, ${id}, ${from} and "
    "${<parameter key>} placeholders; any other placeholder is refused.",
    "from": "The sender shown to recipients. Twilio: an E.164 number (+12025550100) or an alphanumeric "
    "sender id (≤ 11 letters, digits, spaces).",
    "parameters": 'JSON list: [{"key", "value", "header", "encode", "confidential"}]. Confidential values show as '
    f"{MASK}; leave {MASK} to keep them.",
    "topicArns": "Comma-separated SNS topic ARNs allowed to call this gateway's webhooks.",
    "statusMap": 'JSON object: provider status value → ours, e.g. {"DLVRD": "delivered"}.',
    "region": "An AWS region of the chosen service, e.g. us-east-1.",
}


def _label(name: str) -> str:
    return LABELS.get(name) or re.sub(r"(?<!^)(?=[A-Z])", " ", name).capitalize()


def _help(name: str, text: str = "") -> str:
    return f"{text} (API field: {name})" if text else f"API field: {name}"


GLOBAL = "global"
GLOBAL_LABEL = "Global gateway — used by every organization that has no gateway of its own"


class GatewayForm(forms.ModelForm):
    """Common fields; `for_type` adds the type's config and secret fields.

    `request_organization` is set for staff of an organization: their gateways always belong to it
    (the organization field is not shown). For superusers the organization is a required choice in
    which a global gateway is an explicit, labelled option, never what an untouched select means.
    """

    gateway_type: str = Gateway.Type.SIMULATOR
    request_organization = None
    inbound_numbers_text = forms.CharField(
        label="Inbound numbers",
        required=False,
        help_text="Comma-separated E.164 numbers this gateway receives on (a Twilio From number is one by itself).",
    )
    make_default = forms.BooleanField(
        label="Default gateway of the organization",
        required=False,
        help_text="Sends use it unless another gateway is chosen. For a global gateway: the global default. "
        "An organization's first gateway becomes its default.",
    )

    class Meta:
        model = Gateway
        fields = MODEL_FIELDS

    @classmethod
    def for_type(cls, type_: str) -> type["GatewayForm"]:
        spec = SPECS[type_]
        attrs: dict = {"gateway_type": type_}
        for name, kind in spec.fields.items():
            common = {"label": _label(name), "required": False, "help_text": _help(name, HELP.get(name, ""))}
            if kind == "bool":
                attrs[f"cfg_{name}"] = forms.BooleanField(**common)
            elif name in CHOICES:
                attrs[f"cfg_{name}"] = forms.ChoiceField(choices=CHOICES[name], **common)
            elif kind in ("parameters", "dict"):
                attrs[f"cfg_{name}"] = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), **common)
            elif name == "configurationTemplate":
                attrs[f"cfg_{name}"] = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **common)
            else:
                attrs[f"cfg_{name}"] = forms.CharField(**common)
        for name in spec.secrets:
            attrs[f"secret_{name}"] = forms.CharField(
                label=_label(name),
                required=False,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                help_text=_help(name, "Stored encrypted and never shown. Leave blank to keep the current value."),
            )
        return type(f"{type_.title()}GatewayForm", (cls,), attrs)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        gateway = self.instance
        if self.request_organization is not None and not gateway.pk:
            gateway.organization = self.request_organization
        shown = config_representation(gateway) if gateway.pk else {}
        for name, kind in SPECS[self.gateway_type].fields.items():
            if name not in shown:
                continue
            value = shown[name]
            if kind in ("parameters", "dict"):
                value = json.dumps(value, indent=1)
            elif kind == "list":
                value = ", ".join(value)
            self.fields[f"cfg_{name}"].initial = value
        for name in SPECS[self.gateway_type].secrets:
            if gateway.secrets.get(name):
                self.fields[f"secret_{name}"].help_text = "Set (hidden). " + self.fields[f"secret_{name}"].help_text
        if gateway.pk:
            self.fields["inbound_numbers_text"].initial = ", ".join(
                str(n.number) for n in gateway.inbound_numbers.all()
            )
            self.fields["make_default"].initial = gateway.is_default
        if "organization" in self.fields:
            organizations = [(str(o.pk), str(o)) for o in Organization.objects.order_by("name")]
            self.fields["organization"] = forms.ChoiceField(
                label="Organization",
                choices=[("", "— choose —"), *organizations, (GLOBAL, GLOBAL_LABEL)],
                help_text="The organization this gateway sends for. A global gateway is used by every "
                "organization that has no gateway of its own.",
                error_messages={"required": "Choose an organization, or the global gateway option."},
            )
            if gateway.pk:
                self.initial["organization"] = str(gateway.organization_id) if gateway.organization_id else GLOBAL
        if "fallback" in self.fields:
            queryset = Gateway.objects.exclude(pk=gateway.pk) if gateway.pk else Gateway.objects.all()
            if self.request_organization is not None:
                queryset = queryset.filter(organization=self.request_organization)
            elif gateway.pk:
                queryset = queryset.filter(organization_id=gateway.organization_id)
            self.fields["fallback"].queryset = queryset

    def clean_organization(self):
        value = self.cleaned_data.get("organization")
        if value == GLOBAL:
            return None
        organization = Organization.objects.filter(pk=value).first() if value else None
        if organization is None:
            raise forms.ValidationError("Choose an organization, or the global gateway option.")
        return organization

    def clean(self):
        cleaned = super().clean()
        data: dict = {}
        for name, kind in SPECS[self.gateway_type].fields.items():
            value = cleaned.get(f"cfg_{name}")
            if kind in ("parameters", "dict"):
                if value in (None, ""):
                    value = [] if kind == "parameters" else None
                else:
                    try:
                        value = json.loads(value)
                    except ValueError:
                        self.add_error(f"cfg_{name}", "not valid JSON")
                        continue
            data[name] = value
        for name in SPECS[self.gateway_type].secrets:
            data[name] = cleaned.get(f"secret_{name}") or ""
        try:
            self.gateway_config, self.gateway_secrets = config_validate(
                type_=self.gateway_type, data=data, gateway=self.instance if self.instance.pk else None
            )
        except ConfigError as exc:
            self.gateway_config, self.gateway_secrets = {}, {}
            for field_name, message in exc.errors:  # every problem at once, each on its field
                base = field_name.split("[", 1)[0].split(".", 1)[0]
                target = f"cfg_{base}" if f"cfg_{base}" in self.fields else f"secret_{base}"
                if target in self.fields and target in self.errors and message in self.errors[target]:
                    continue
                self.add_error(target if target in self.fields else None, message)
        numbers = []
        for raw in (cleaned.get("inbound_numbers_text") or "").split(","):
            if raw.strip():
                try:
                    numbers.append(to_e164(raw.strip()))
                except InvalidPhoneNumber as exc:
                    self.add_error("inbound_numbers_text", f"{raw.strip()}: {exc}")
        self.inbound_numbers = numbers
        fallback = cleaned.get("fallback")
        if self.request_organization is not None:
            organization = self.request_organization
        elif "organization" in self.fields:
            organization = cleaned.get("organization")
        else:
            organization = self.instance.organization
        if fallback is not None and fallback.organization_id != (organization.pk if organization else None):
            self.add_error("fallback", "the fallback must belong to the same organization")
        return cleaned


class SendTestForm(forms.Form):
    recipient = forms.CharField(help_text="E.164 number, e.g. +15551234567")


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
    actions = ["make_default", "send_test_sms", "rotate_webhook_token", "retire_previous_webhook_token"]

    def _type_for(self, request, obj) -> str:
        if obj is not None:
            return obj.type
        type_ = request.GET.get("type") or request.POST.get("type") or ""
        return type_ if type_ in SPECS else ""

    def add_view(self, request, form_url="", extra_context=None):
        if not self._type_for(request, None):
            context = {
                **self.admin_site.each_context(request),
                "types": Gateway.Type.choices,
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
        type_ = self._type_for(request, obj)
        spec = SPECS[type_]
        fieldsets = [
            (None, {"fields": ["organization", "name", "is_active", "make_default"]}),
            (
                f"{Gateway.Type(type_).label} settings",
                {"fields": [f"cfg_{n}" for n in spec.fields] + [f"secret_{n}" for n in spec.secrets]},
            ),
            ("Routing", {"fields": ["fallback", "rate_limit_per_second", "max_sms_length", "inbound_numbers_text"]}),
        ]
        if obj is not None:
            fieldsets.append(
                (
                    "Webhooks and health",
                    {
                        "fields": [
                            "type",
                            "inbound_url",
                            "status_url",
                            "last_success_at",
                            "last_error_at",
                            "last_error",
                            "down_until",
                        ]
                    },
                )
            )
        if not request.user.is_superuser:
            fieldsets[0][1]["fields"].remove("organization")
        return fieldsets

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

    @admin.display(description="inbound URL (paste into the provider console)")
    def inbound_url(self, obj):
        return format_html("<code>{}</code>", gateway_webhook_url(gateway=obj, kind="inbound"))

    @admin.display(description="status URL")
    def status_url(self, obj):
        return format_html("<code>{}</code>", gateway_webhook_url(gateway=obj, kind="status"))

    # -- actions ---------------------------------------------------------------------------

    @admin.action(description="Make default for its organization")
    def make_default(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one gateway.", messages.ERROR)
            return
        gateway = gateway_set_default(gateway=queryset.get())
        self.message_user(request, f"{gateway.name} is set to default.")

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


from gateways import admin_numbers  # noqa: E402, F401 — registers the number-assignment admin
