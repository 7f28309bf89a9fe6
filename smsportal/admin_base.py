"""The one place the admin's base classes come from: django-unfold's, so every page has the product's look.

Every ModelAdmin and inline in the project derives from these aliases (through entities/tenancy.py),
and custom form fields use the widgets below, so the admin's theme is named here only.
"""

from functools import lru_cache
from zoneinfo import available_timezones

from django.utils import timezone
from django.utils.formats import date_format
from unfold.admin import ModelAdmin, StackedInline, TabularInline
from unfold.widgets import UnfoldAdminCheckboxSelectMultipleWidget as CheckboxMultipleWidget
from unfold.widgets import UnfoldAdminIntegerFieldWidget as IntegerWidget
from unfold.widgets import UnfoldAdminPasswordWidget as PasswordWidget
from unfold.widgets import UnfoldAdminSelectWidget as SelectWidget
from unfold.widgets import UnfoldAdminTextareaWidget as TextareaWidget
from unfold.widgets import UnfoldAdminTextInputWidget as TextWidget
from unfold.widgets import UnfoldBooleanSwitchWidget as SwitchWidget

BaseModelAdmin = ModelAdmin
BaseTabularInline = TabularInline
BaseStackedInline = StackedInline


def admin_when(value, tz=None) -> str:
    """A time as the admin's lists write it (settings.FORMAT_MODULE_PATH: "Tue 8 Dec 2026 00:29"), in
    `tz` or the admin's active zone; "—" for none."""
    return date_format(timezone.localtime(value, tz), "DATETIME_FORMAT") if value else "—"


@lru_cache(maxsize=1)
def _zones() -> list[tuple[str, str]]:
    return [(zone, zone.replace("_", " ")) for zone in sorted(available_timezones() | {"UTC"})]


class TimeZoneChoiceMixin:
    """A model's `timezone` (an IANA name, validated by the model) chosen from the list of zones
    rather than typed: a typo was refused only after saving."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if db_field.name == "timezone":
            kwargs["widget"] = SelectWidget(choices=_zones())
        return super().formfield_for_dbfield(db_field, request, **kwargs)


# The theme's widgets, for form fields an admin does not derive from a model field.
__all__ = [
    "BaseModelAdmin",
    "BaseStackedInline",
    "BaseTabularInline",
    "CheckboxMultipleWidget",
    "IntegerWidget",
    "PasswordWidget",
    "SelectWidget",
    "SwitchWidget",
    "TextareaWidget",
    "TextWidget",
    "TimeZoneChoiceMixin",
]
