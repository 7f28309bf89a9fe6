"""Admin for organizations, people and API keys.

Staff who are not superusers see and edit only their own organization's rows. A person whose
phone number another person of the organization also has gets a visible warning: inbound
replies from that number cannot be routed (BioT: exactly one user per number).
"""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.html import format_html

from entities.admin_consent import consent_panel
from entities.models import ENTITY_MODELS, ApiKey, Caregiver, Organization, OrganizationUser, Patient, keyword_normalize
from entities.selectors import phone_number_shared
from entities.services import api_key_create, api_keys_revoke
from entities.tenancy import OrganizationScopedAdmin, acting_organization
from smsportal.admin_base import TextWidget, TimeZoneChoiceMixin
from smsportal.form_fields import ListTextField
from smsportal.phones import InvalidPhoneNumber, to_e164

SHARED_PHONE_WARNING = (
    "Another patient, caregiver or organization user of this organization has the phone number {phone}. "
    "Replies from this number cannot be matched to one person and will fail (MULTIPLE_ENTITIES)."
)


def _keywords_field(name: str) -> ListTextField:
    return ListTextField(required=False, widget=TextWidget, help_text=Organization._meta.get_field(name).help_text)


class OrganizationAdminForm(forms.ModelForm):
    """Keywords typed as "BAJA, ARRET", not as JSON; stored upper-case as SMS commands compare them."""

    opt_out_keywords = _keywords_field("opt_out_keywords")
    opt_in_keywords = _keywords_field("opt_in_keywords")
    help_keywords = _keywords_field("help_keywords")

    # No Meta: the admin chooses the fields (all for a superuser, `own_settings` for the organization's admin).
    KEYWORDS = ("opt_out_keywords", "opt_in_keywords", "help_keywords")

    def clean(self):
        cleaned = super().clean()
        for name in self.KEYWORDS:
            if cleaned.get(name) is not None:
                cleaned[name] = list(dict.fromkeys(keyword_normalize(k) for k in cleaned[name]))
        return cleaned


@admin.register(Organization)
class OrganizationAdmin(TimeZoneChoiceMixin, OrganizationScopedAdmin):
    """Superusers manage every organization; an organization's admin edits its own settings only."""

    form = OrganizationAdminForm

    list_display = ["name", "slug", "default_region", "timezone", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["id", "template_id", "created_at", "updated_at"]
    organization_field = "pk"
    # What an organization's admin may change: its name and its sending settings.
    own_settings = [
        "name",
        "timezone",
        "default_region",
        "default_locale",
        "quiet_hours_start",
        "quiet_hours_end",
        "opt_out_keywords",
        "opt_in_keywords",
        "help_keywords",
        "opt_out_confirmation",
        "opt_in_confirmation",
        "help_text",
        "help_contact",
        "consent_confirmation",
        "program_opt_out_confirmation",
        "unknown_number_reply",
        "exempt_mode",
        "exempt_daily_limit",
        "exempt_weekly_limit",
        "require_two_factor",
    ]

    def get_fields(self, request, obj=None):
        return super().get_fields(request, obj) if request.user.is_superuser else self.own_settings

    def get_prepopulated_fields(self, request, obj=None):
        return self.prepopulated_fields if request.user.is_superuser else {}

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if request.user.is_superuser else []

    def has_add_permission(self, request):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class PersonAdminForm(forms.ModelForm):
    """The phone as staff type it: national numbers read in the organization's default region
    (docs/api.md, "Phone numbers"), stored in E.164."""

    phone = forms.CharField(
        required=False,
        max_length=40,
        widget=TextWidget,
        help_text="International (+12025550199), or national in the organization's default region (202-555-0199).",
    )

    def clean(self):
        cleaned = super().clean()
        raw = (cleaned.get("phone") or "").strip()
        # A superuser's choice, else the staff user's organization (set by entities.tenancy), else the row's.
        organization = (
            cleaned.get("organization")
            or getattr(self, "tenancy_organization", None)
            or getattr(self.instance, "organization", None)
        )
        if raw:
            try:
                cleaned["phone"] = to_e164(raw, region=getattr(organization, "default_region", "") or None)
            except InvalidPhoneNumber as exc:
                self.add_error("phone", str(exc))
        return cleaned


class PersonAdmin(OrganizationScopedAdmin):
    form = PersonAdminForm
    list_display = ["full_name", "phone", "phone_warning", "email", "organization", "enabled", "created_at"]
    list_filter = ["enabled", "gender", "can_login", "organization", "created_at"]
    search_fields = ["first_name", "last_name", "email", "phone", "national_id"]
    list_select_related = ["organization"]
    readonly_fields = ["id", "created_at", "updated_at", "consent"]
    fieldsets = [
        (None, {"fields": ["id", "organization", "first_name", "last_name", "description", "phone", "email"]}),
        ("Profile", {"fields": ["locale", "gender", "date_of_birth", "national_id", "custom_attributes"]}),
        (
            "Address",
            {
                "fields": [
                    "address_country_code",
                    "address_state",
                    "address_city",
                    "address_zip_code",
                    "address_line1",
                    "address_line2",
                ]
            },
        ),
        (
            "Account",
            {"fields": ["enabled", "can_login", "invitation_accepted", "mfa_enabled", "registration_source"]},
        ),
        ("Consent", {"fields": ["consent"]}),
        ("Times", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="consent")
    def consent(self, obj):
        return consent_panel(obj)

    def get_queryset(self, request):
        # How many entities of the organization share each row's number, in the same query.
        queryset = super().get_queryset(request)
        holders = [
            Subquery(
                model.objects.filter(organization_id=OuterRef("organization_id"), phone=OuterRef("phone"))
                .order_by()
                .values("organization_id")
                .annotate(n=Count("pk"))
                .values("n")[:1],
                output_field=IntegerField(),
            )
            for model in ENTITY_MODELS.values()
        ]
        return queryset.annotate(phone_holders=sum((Coalesce(h, 0) for h in holders[1:]), Coalesce(holders[0], 0)))

    @admin.display(description="number shared?")
    def phone_warning(self, obj):
        if obj.phone and getattr(obj, "phone_holders", 0) > 1:
            return format_html('<strong style="color:#ba2121">{}</strong>', "⚠ shared with another entity")
        return ""

    def change_view(self, request, object_id, form_url="", extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is not None and request.method == "GET" and phone_number_shared(obj):
            self.message_user(request, SHARED_PHONE_WARNING.format(phone=obj.phone), level=messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if phone_number_shared(obj):
            self.message_user(request, SHARED_PHONE_WARNING.format(phone=obj.phone), level=messages.WARNING)


@admin.register(Patient)
class PatientAdmin(PersonAdmin):
    pass


@admin.register(OrganizationUser)
class OrganizationUserAdmin(PersonAdmin):
    """The login field offers only the organization's own logins (`create_org_admin` makes new ones)."""

    fieldsets = [*PersonAdmin.fieldsets, ("Login", {"fields": ["user"]})]


@admin.register(Caregiver)
class CaregiverAdmin(PersonAdmin):
    filter_horizontal = ["patients"]
    fieldsets = [*PersonAdmin.fieldsets, ("Cares for", {"fields": ["patients"]})]


@admin.register(ApiKey)
class ApiKeyAdmin(OrganizationScopedAdmin):
    """Keys are generated here; the raw key is shown once, in the confirmation message."""

    list_display = ["name", "prefix", "organization", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["organization", "revoked_at"]
    search_fields = ["name", "prefix"]
    fields = ["organization", "name", "prefix", "created_at", "last_used_at", "revoked_at"]
    # Revoked by the list's action, for good: a date typed in (or cleared) here would revive a key.
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        organization = acting_organization(request) or obj.organization
        api_key, raw = api_key_create(organization=organization, name=obj.name)
        obj.pk, obj.prefix = api_key.pk, api_key.prefix
        self.message_user(request, f"API key created. Copy it now, it is not shown again: {raw}", messages.SUCCESS)

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        count = api_keys_revoke(queryset=queryset)
        self.message_user(request, f"{count} key{'' if count == 1 else 's'} revoked.")
