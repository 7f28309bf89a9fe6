"""The admin's gateway forms, built from each adapter's settings declaration (`config_spec`).

Validation is the API's (gateways.config.config_validate), so the admin and the DHIS2 gateway API
accept exactly the same configurations. Secrets are write-only: a blank field keeps the stored
value; nothing secret is ever rendered back into the page. Every problem is shown on its field.
"""

import json

from django import forms
from django.utils.html import format_html

from entities.models import Organization
from gateways.config import config_representation, config_validate, spec_for
from gateways.exceptions import ConfigError
from gateways.models import Gateway
from gateways.providers import ADAPTERS
from gateways.providers.settings import Setting
from smsportal.admin_base import IntegerWidget, PasswordWidget, SelectWidget, SwitchWidget, TextareaWidget, TextWidget
from smsportal.phones import InvalidPhoneNumber, to_e164

MODEL_FIELDS = [
    "organization",
    "name",
    "is_active",
    "fallback",
    "rate_limit_per_second",
    "sender_rate_limit_per_second",
    "max_sms_length",
]
GLOBAL = "global"
GLOBAL_LABEL = "Global gateway — used by every organization that has no gateway of its own"
SECRET_HELP = "Stored encrypted and never shown again. Leave blank to keep the current value."
JSON_KINDS = ("parameters", "dict")


def form_field_name(setting: Setting) -> str:
    return f"{'secret' if setting.secret else 'cfg'}_{setting.name}"


def _form_field(setting: Setting) -> forms.Field:
    # The API (JSON) name closes the help text: what to send through /api/gateways.
    help_text = f"{setting.help} {SECRET_HELP if setting.secret else ''}".strip() + f" (API field: {setting.name})"
    common = {"label": setting.label, "required": False, "help_text": help_text}
    if setting.secret:
        return forms.CharField(**common, widget=PasswordWidget(attrs={"autocomplete": "new-password"}))
    if setting.kind == "bool":
        return forms.BooleanField(**common, initial=setting.default, widget=SwitchWidget)
    if setting.choices:
        return forms.ChoiceField(choices=setting.choices, **common, widget=SelectWidget)
    if setting.kind == "int":
        return forms.IntegerField(min_value=1, max_value=1000, **common, widget=IntegerWidget)
    if setting.kind in (*JSON_KINDS, "text"):
        rows = 4 if setting.kind in JSON_KINDS else 3
        return forms.CharField(**common, widget=TextareaWidget(attrs={"rows": rows}))
    return forms.CharField(max_length=2000, **common, widget=TextWidget)


class GatewayForm(forms.ModelForm):
    """Common fields; `for_type` adds the fields the type's adapter declares.

    `request_organization` is set for staff of an organization: their gateways always belong to it
    (the organization field is not shown). For superusers the organization is a required choice in
    which a global gateway is an explicit, labelled option, never what an untouched select means.
    """

    gateway_type: str = "simulator"
    request_organization = None
    inbound_numbers_text = forms.CharField(
        label="Inbound numbers",
        required=False,
        widget=TextWidget,
        help_text="Comma-separated E.164 numbers this gateway receives replies on.",
    )
    make_default = forms.BooleanField(
        label="Default gateway of the organization",
        required=False,
        widget=SwitchWidget,
        help_text="Sends use it unless another gateway is chosen. For a global gateway: the global default. "
        "An organization's first gateway becomes its default.",
    )

    class Meta:
        model = Gateway
        fields = MODEL_FIELDS

    @classmethod
    def for_type(cls, type_: str) -> type["GatewayForm"]:
        attrs: dict = {"gateway_type": type_}
        for setting in spec_for(type_).shown():
            attrs[form_field_name(setting)] = _form_field(setting)
        return type(f"{type_.title()}GatewayForm", (cls,), attrs)

    @property
    def settings_shown(self) -> list[Setting]:
        return spec_for(self.gateway_type).shown()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        gateway = self.instance
        # Not `gateway.pk`: the UUID primary key is set before the first save (that made a new
        # gateway's form preselect "Global gateway").
        self.existing = not gateway._state.adding
        if self.request_organization is not None and not self.existing:
            gateway.organization = self.request_organization
        self._initial_settings(gateway)
        if self.existing:
            numbers = ", ".join(str(n.number) for n in gateway.inbound_numbers.all())
            self.fields["inbound_numbers_text"].initial = numbers
            self.fields["make_default"].initial = gateway.is_default
        if "organization" in self.fields:
            self._organization_choice(gateway)
        if "fallback" in self.fields:
            queryset = Gateway.objects.exclude(pk=gateway.pk) if self.existing else Gateway.objects.all()
            if self.request_organization is not None:
                queryset = queryset.filter(organization=self.request_organization)
            elif self.existing:
                queryset = queryset.filter(organization_id=gateway.organization_id)
            self.fields["fallback"].queryset = queryset

    def _initial_settings(self, gateway: Gateway) -> None:
        shown = config_representation(gateway) if self.existing else {}
        for setting in self.settings_shown:
            name = form_field_name(setting)
            if setting.secret:
                if gateway.secrets.get(setting.name):
                    self.fields[name].help_text = "Set (hidden). " + self.fields[name].help_text
                continue
            if setting.name not in shown:
                continue
            value = shown[setting.name]
            if setting.kind in JSON_KINDS:
                value = json.dumps(value, indent=1)
            elif setting.kind == "list":
                value = ", ".join(value)
            self.fields[name].initial = value

    def _organization_choice(self, gateway: Gateway) -> None:
        organizations = [(str(o.pk), str(o)) for o in Organization.objects.order_by("name")]
        self.fields["organization"] = forms.ChoiceField(
            label="Organization",
            choices=[("", "— choose —"), *organizations, (GLOBAL, GLOBAL_LABEL)],
            widget=SelectWidget,
            help_text="The organization this gateway sends for. A global gateway is used by every "
            "organization that has no gateway of its own.",
            error_messages={"required": "Choose an organization, or the global gateway option."},
        )
        if self.existing:
            self.initial["organization"] = str(gateway.organization_id) if gateway.organization_id else GLOBAL

    def clean_organization(self):
        value = self.cleaned_data.get("organization")
        if value == GLOBAL:
            return None
        organization = Organization.objects.filter(pk=value).first() if value else None
        if organization is None:
            raise forms.ValidationError("Choose an organization, or the global gateway option.")
        return organization

    def _settings_data(self, cleaned: dict) -> dict:
        """The shown settings in the API's shape; JSON boxes parsed (an error lands on its field)."""
        data: dict = {}
        for setting in self.settings_shown:
            name = form_field_name(setting)
            if name in self.errors:
                continue  # already refused by the form field (e.g. not a whole number)
            value = cleaned.get(name)
            if setting.secret:
                value = value or ""
            elif setting.kind in JSON_KINDS:
                if value in (None, ""):
                    value = [] if setting.kind == "parameters" else None
                else:
                    try:
                        value = json.loads(value)
                    except ValueError:
                        self.add_error(name, "not valid JSON")
                        continue
            data[setting.name] = value
        return data

    def clean(self):
        cleaned = super().clean()
        data = self._settings_data(cleaned)
        self.gateway_config, self.gateway_secrets = {}, {}
        try:
            self.gateway_config, self.gateway_secrets = config_validate(
                type_=self.gateway_type, data=data, gateway=self.instance if self.existing else None
            )
        except ConfigError as exc:
            for field_name, message in exc.errors:  # every problem at once, each on its field
                self._config_error(field_name, message)
        self.inbound_numbers = self._inbound_numbers(cleaned.get("inbound_numbers_text") or "")
        self._check_fallback(cleaned)
        return cleaned

    def _config_error(self, field_name: str, message: str) -> None:
        base = field_name.split("[", 1)[0].split(".", 1)[0]
        target = next((n for n in (f"cfg_{base}", f"secret_{base}") if n in self.fields), None)
        if target and message in self.errors.get(target, []):
            return
        self.add_error(target, message)

    def _inbound_numbers(self, text: str) -> list[str]:
        numbers = []
        for raw in text.split(","):
            if raw.strip():
                try:
                    numbers.append(to_e164(raw.strip()))
                except InvalidPhoneNumber as exc:
                    self.add_error("inbound_numbers_text", f"{raw.strip()}: {exc}")
        return numbers

    def _check_fallback(self, cleaned: dict) -> None:
        fallback = cleaned.get("fallback")
        if self.request_organization is not None:
            organization = self.request_organization
        elif "organization" in self.fields:
            organization = cleaned.get("organization")
        else:
            organization = self.instance.organization
        if fallback is not None and fallback.organization_id != (organization.pk if organization else None):
            self.add_error("fallback", "the fallback must belong to the same organization")


def gateway_fieldsets(type_: str, *, with_organization: bool, existing: bool) -> list:
    """The admin fieldsets of a type: general, the provider's sections as it declares them, routing, webhooks."""
    spec = spec_for(type_)
    label = ADAPTERS[type_].label
    general = (["organization"] if with_organization else []) + ["name", "is_active", "make_default"]
    fieldsets: list = [(None, {"fields": general, "description": spec.description})]
    for section, settings in spec.sections().items():
        title = section or f"{label} account"
        fieldsets.append((title, {"fields": [form_field_name(s) for s in settings]}))
    routing = ["fallback", "rate_limit_per_second", "sender_rate_limit_per_second", "max_sms_length"]
    routing.append("inbound_numbers_text")
    fieldsets.append(("Routing", {"fields": routing}))
    if existing:  # the URLs to paste into the provider's console come right after the general settings
        webhooks = ("Webhooks", {"fields": ["inbound_url", "status_url"], "description": spec.webhooks_hint})
        fieldsets.insert(1, webhooks)
        fieldsets.append(("Health", {"fields": ["last_success_at", "last_error_at", "last_error", "down_until"]}))
    return fieldsets


def copyable(value: str):
    """A value with a *Copy* button (smsportal/static/smsportal/admin.js)."""
    return format_html(
        '<span class="smsportal-copy"><code>{}</code> '
        '<button type="button" class="smsportal-copy-button border border-base-200 ml-2 px-2 py-1 rounded-default '
        'text-xs text-primary-600 dark:border-base-700" data-copy="{}">Copy</button></span>',
        value,
        value,
    )


class SendTestForm(forms.Form):
    recipient = forms.CharField(help_text="E.164 number, e.g. +12025550123", widget=TextWidget)
