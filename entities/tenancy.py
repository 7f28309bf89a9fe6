"""The tenancy layer of the admin: one organization never sees, chooses or changes another's rows.

Every ModelAdmin in the project derives from `OrganizationScopedAdmin` (rows an organization owns)
or `PlatformAdmin` (global objects: superusers only). For a staff user who is not a superuser:

- querysets hold their organization's rows only (`organization_for_user`, shared with the portal
  and the API);
- the organization field is a hidden field forced to their organization; a POST naming another
  organization's id is refused with a form error;
- every foreign-key and many-to-many choice, in any form the admin builds (custom ones included),
  is limited to their organization;
- list filters offer only values of their organization's rows.

Superusers see everything, and pick the organization explicitly; a related object of another
organization than the one picked is refused with an error on its field.
"""

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist
from django.db.models import ForeignKey, ManyToManyField, Model, OneToOneField, Q, QuerySet

from entities.models import Organization
from entities.selectors import organization_for_user
from smsportal.admin_base import BaseModelAdmin, BaseStackedInline, BaseTabularInline

MAX_DEPTH = 3  # how far `organization_path` follows foreign keys (InboundNumber → Gateway → Organization)


def organization_path(model: type[Model], depth: int = 0) -> str | None:
    """The lookup from `model` to its organization ("pk", "organization", "gateway__organization"),
    or None for a platform-wide model."""
    if issubclass(model, Organization):
        return "pk"
    if issubclass(model, get_user_model()):
        return "organization_user__organization"
    try:
        field = model._meta.get_field("organization")
        if getattr(field, "related_model", None) is Organization:
            return "organization"
    except FieldDoesNotExist:
        pass
    if depth >= MAX_DEPTH:
        return None
    for field in model._meta.concrete_fields:
        if isinstance(field, ForeignKey) and field.related_model is not model:
            inner = organization_path(field.related_model, depth + 1)
            if inner is not None:
                return "organization" if inner == "pk" else f"{field.name}__{inner}"
    return None


def owned_by(queryset: QuerySet, organization: Organization | None) -> QuerySet:
    """`queryset` restricted to rows of `organization` (none for a platform-wide model or no organization)."""
    path = organization_path(queryset.model)
    if path is None or organization is None:
        return queryset.none()
    lookup = Q(**{path: organization.pk})
    if issubclass(queryset.model, get_user_model()):
        lookup &= Q(is_superuser=False)  # a superuser's account is never a tenant's to link
    return queryset.filter(lookup)


def organization_id_of(obj: Model):
    """The organization id an object belongs to (None: global or platform-wide)."""
    path = organization_path(type(obj))
    if path is None:
        return None
    if path == "pk":
        return obj.pk
    value = obj
    for part in path.split("__"):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value.pk


def acting_organization(request) -> Organization | None:
    """The organization a non-superuser acts for (None for superusers, who choose per object)."""
    return None if request.user.is_superuser else organization_for_user(request.user)


class OrganizationFormMixin:
    """Limits every model choice of a form to one organization, and checks a superuser's choices agree.

    Set by `OrganizationScopedAdmin.get_form`: `tenancy_organization` (the staff user's organization,
    None for a superuser) and `tenancy_field` (the name of the form's organization field).
    """

    tenancy_organization: Organization | None = None
    tenancy_superuser = False
    tenancy_field = "organization"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.tenancy_superuser:
            return
        organization = self.tenancy_organization
        for name, field in self.fields.items():
            if not isinstance(field, forms.ModelChoiceField):
                continue
            field.queryset = owned_by(field.queryset, organization)
            if name == self.tenancy_field:
                field.widget = forms.HiddenInput()
                field.required = False
                field.initial = organization.pk if organization else None

    def clean(self):
        cleaned = super().clean()
        if not self.tenancy_superuser:
            if self.tenancy_field in self.fields and self.tenancy_field not in self.errors:
                cleaned[self.tenancy_field] = self.tenancy_organization
            return cleaned
        self._check_same_organization(cleaned)
        return cleaned

    def _check_same_organization(self, cleaned):
        """A superuser's related choices must belong to the organization the object belongs to."""
        if self.tenancy_field in self.fields:
            chosen = cleaned.get(self.tenancy_field)
            if self.tenancy_field in self.errors:
                return
        else:
            chosen = getattr(self.instance, self.tenancy_field, None)
        if not isinstance(chosen, Organization | None):
            return
        expected = chosen.pk if chosen else None
        for name, field in self.fields.items():
            if name == self.tenancy_field or name in self.errors or not isinstance(field, forms.ModelChoiceField):
                continue
            model = field.queryset.model
            if model is Organization or organization_path(model) is None:
                continue
            value = cleaned.get(name)
            values = list(value) if isinstance(field, forms.ModelMultipleChoiceField) and value else [value]
            # A row of no organization (a global gateway, a login not linked yet) is no other organization's.
            if any(v is not None and organization_id_of(v) not in (expected, None) for v in values):
                self.add_error(name, "belongs to another organization than this object's")


class ScopedRelatedFieldListFilter(admin.RelatedOnlyFieldListFilter):
    """A foreign-key filter offering only values that the (scoped) changelist's rows use."""


class ScopedAllValuesFieldListFilter(admin.AllValuesFieldListFilter):
    """A filter on a related model's value (`registration__name`) offering only the scoped rows' values."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        self.lookup_choices = (
            model_admin.get_queryset(request).distinct().order_by(field_path).values_list(field_path, flat=True)
        )


class TenancyMixin:
    """Querysets, forms, filters and saves scoped to the staff user's organization (see module doc)."""

    organization_field = "organization"

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return self.scope_queryset(queryset, organization_for_user(request.user))

    def scope_queryset(self, queryset, organization):
        """The rows of `organization`; override for a model whose organization is not a foreign-key path."""
        return owned_by(queryset, organization)

    def _tenant_allowed(self, request) -> bool:
        return request.user.is_superuser or organization_for_user(request.user) is not None

    def has_module_permission(self, request):
        return self._tenant_allowed(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self._tenant_allowed(request) and super().has_view_permission(request, obj)

    def has_add_permission(self, request, *args):
        return self._tenant_allowed(request) and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return self._tenant_allowed(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._tenant_allowed(request) and super().has_delete_permission(request, obj)

    def tenancy_form(self, request, form):
        """`form` with the organization limits of this request."""
        return type(
            form.__name__,
            (OrganizationFormMixin, form),
            {
                "tenancy_organization": acting_organization(request),
                "tenancy_superuser": request.user.is_superuser,
                "tenancy_field": self.organization_field,
            },
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        return self._limit(field, request)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        return self._limit(field, request)

    def _limit(self, field, request):
        # Raw-id and autocomplete widgets validate against this queryset too.
        if field is not None and not request.user.is_superuser and hasattr(field, "queryset"):
            field.queryset = owned_by(field.queryset, organization_for_user(request.user))
        return field


class OrganizationScopedAdmin(TenancyMixin, BaseModelAdmin):
    """Admin of a model an organization owns (directly or through a foreign key)."""

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = self.tenancy_form(request, kwargs.get("form", self.form))
        return super().get_form(request, obj, change, **kwargs)

    def get_changelist_form(self, request, **kwargs):
        return self.tenancy_form(request, super().get_changelist_form(request, **kwargs))

    def get_list_filter(self, request):
        filters = list(super().get_list_filter(request))
        if request.user.is_superuser:
            return filters
        return [f for f in (self._scoped_filter(item) for item in filters) if f is not None]

    def _scoped_filter(self, item):
        if not isinstance(item, str):
            return item  # a filter class or (field, class): it gets the scoped changelist queryset
        if item == self.organization_field:
            return None  # one organization: nothing to filter
        from django.contrib.admin.utils import get_fields_from_path

        path = get_fields_from_path(self.model, item)
        if isinstance(path[-1], ForeignKey | ManyToManyField | OneToOneField):
            return (item, ScopedRelatedFieldListFilter)
        if len(path) > 1:
            return (item, ScopedAllValuesFieldListFilter)
        return item

    def get_list_display(self, request):
        shown = list(super().get_list_display(request))
        if not request.user.is_superuser and self.organization_field in shown:
            shown.remove(self.organization_field)
        return shown

    def save_model(self, request, obj, form, change):
        organization = acting_organization(request)
        if organization is not None and self.organization_field == "organization":
            obj.organization = organization
        super().save_model(request, obj, form, change)


class _ScopedInline(TenancyMixin):
    def get_formset(self, request, obj=None, **kwargs):
        kwargs["form"] = self.tenancy_form(request, kwargs.get("form", self.form))
        return super().get_formset(request, obj, **kwargs)


class OrganizationScopedTabularInline(_ScopedInline, BaseTabularInline):
    pass


class OrganizationScopedStackedInline(_ScopedInline, BaseStackedInline):
    pass


class PlatformMixin:
    """Global objects (signing keys, logins, lockouts): superusers only, not even shown to others."""

    def has_module_permission(self, request):
        return request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_add_permission(self, request, *args):
        return request.user.is_superuser and super().has_add_permission(request, *args)

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None):
        return request.user.is_superuser


class PlatformAdmin(PlatformMixin, BaseModelAdmin):
    pass


def platform_only(model_admin_class: type) -> type:
    """A third-party ModelAdmin class made superuser-only (for re-registering auth's and axes's)."""
    return type(model_admin_class.__name__, (PlatformMixin, model_admin_class), {})


def third_party_admins_platform_only(site=admin.site) -> None:
    """Admins registered by installed libraries (logins, groups, lockouts, ...) become superuser-only.

    The project's own admins are left alone: the registry walk (tests/admin) fails for one that is
    neither organization-scoped nor platform-wide.
    """
    from django.conf import settings

    for model, model_admin in list(site._registry.items()):
        admin_class = type(model_admin)
        module = __import__(admin_class.__module__.split(".")[0])
        path = str(getattr(module, "__file__", "") or "")
        own = path.startswith(str(settings.BASE_DIR)) and "site-packages" not in path
        if own or isinstance(model_admin, TenancyMixin | PlatformMixin):
            continue
        site.unregister(model)
        site.register(model, platform_only(admin_class))
