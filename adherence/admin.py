"""Admin: schedules are configured here (with CSV/XLSX import and export); slots, confirmations and
follow-up items are read-only (staff work on follow-ups in the portal)."""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from import_export.admin import ImportExportModelAdmin

from adherence.follow_up_models import FollowUp
from adherence.models import DoseConfirmation, DoseSlot, MedicationSchedule, PatientRoster
from adherence.resources import MedicationScheduleResource, PatientResource
from adherence.schedule_fields import WEEKDAYS, DoseTimesField, LocaleTextsField
from adherence.services import reminder_send, schedule_set_active, slots_resync
from entities.tenancy import OrganizationScopedAdmin, acting_organization
from smsportal.admin_base import CheckboxMultipleWidget, TextareaWidget, TextWidget, TimeZoneChoiceMixin
from smsportal.form_fields import ListTextField


class OrgScopedAdmin(OrganizationScopedAdmin):
    """django-import-export: staff import into and export from their organization only."""

    def get_import_resource_kwargs(self, request, **kwargs):
        return {**super().get_import_resource_kwargs(request, **kwargs), "organization": acting_organization(request)}

    def get_export_resource_kwargs(self, request, **kwargs):
        return {**super().get_export_resource_kwargs(request, **kwargs), "organization": acting_organization(request)}


class ReadOnlyAdmin(OrgScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MedicationScheduleAdminForm(forms.ModelForm):
    """The lists and texts as the portal's schedule form takes them, not as JSON."""

    dose_times = DoseTimesField(
        widget=TextWidget, help_text='Times of day in the schedule\'s time zone, e.g. "08:00, 20:00".'
    )
    days_of_week = forms.TypedMultipleChoiceField(
        choices=WEEKDAYS, coerce=int, widget=CheckboxMultipleWidget, help_text="The days reminders are sent."
    )
    reminder_texts = LocaleTextsField(
        required=False,
        widget=TextareaWidget(attrs={"rows": 4}),
        help_text=MedicationSchedule._meta.get_field("reminder_texts").help_text
        + '. One line per language, e.g. "es: Hola {first_name} …".',
    )
    confirm_replies = ListTextField(widget=TextWidget, help_text='Replies that confirm a dose, e.g. "1, Taken".')

    # No Meta: the admin's fieldsets choose the fields.


@admin.register(MedicationSchedule)
class MedicationScheduleAdmin(TimeZoneChoiceMixin, OrgScopedAdmin, ImportExportModelAdmin):
    form = MedicationScheduleAdminForm
    resource_classes = [MedicationScheduleResource]
    list_display = [
        "medication",
        "patient",
        "times",
        "timezone",
        "start_date",
        "end_date",
        "alert_caregivers",
        "active",
    ]
    list_filter = ["active", "alert_caregivers", "organization", "timezone"]
    search_fields = ["medication", "patient__first_name", "patient__last_name", "patient__national_id"]
    raw_id_fields = ["patient"]
    date_hierarchy = "start_date"
    list_select_related = ["patient"]
    actions = ["pause", "resume"]
    fieldsets = [
        (None, {"fields": ["organization", "patient", "medication", "active"]}),
        ("When", {"fields": ["dose_times", "days_of_week", "start_date", "end_date", "timezone"]}),
        ("Messages", {"fields": ["reminder_texts", "confirm_replies", "response_window_minutes"]}),
        ("Caregivers", {"fields": ["alert_caregivers", "caregiver_alert_text"]}),
        ("Follow up", {"fields": ["follow_up_missed_doses", "follow_up_silent_days"]}),
    ]

    @admin.display(description="dose times")
    def times(self, obj):
        return ", ".join(obj.dose_times or [])

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        slots_resync(schedule=obj)

    @admin.action(description="Pause the selected schedules (no more reminders)")
    def pause(self, request, queryset):
        self._set_active(request, queryset, active=False, done="paused")

    @admin.action(description="Resume the selected schedules")
    def resume(self, request, queryset):
        self._set_active(request, queryset, active=True, done="resumed")

    def _set_active(self, request, queryset, *, active: bool, done: str):
        for schedule in queryset:
            schedule_set_active(schedule=schedule, active=active)
        self.message_user(request, f"{queryset.count()} schedule(s) {done}.", messages.SUCCESS)


@admin.register(DoseSlot)
class DoseSlotAdmin(ReadOnlyAdmin):
    list_display = ["patient", "schedule", "local_date", "local_time", "scheduled_at", "status", "reminded_at"]
    list_filter = ["status", "local_date", "organization"]
    search_fields = ["patient__first_name", "patient__last_name", "schedule__medication"]
    date_hierarchy = "scheduled_at"
    list_select_related = ["patient", "schedule"]
    actions = ["send_reminder_now"]

    @admin.action(description="Send the reminder now (pending doses only)")
    def send_reminder_now(self, request, queryset):
        sent = sum(
            reminder_send(slot=slot)
            for slot in queryset.filter(status=DoseSlot.Status.SCHEDULED).select_related("patient", "schedule")
        )
        self.message_user(request, f"{sent} reminder{'' if sent == 1 else 's'} queued.", messages.SUCCESS)

    def has_change_permission(self, request, obj=None):
        return obj is None and super(ReadOnlyAdmin, self).has_change_permission(request)


@admin.register(DoseConfirmation)
class DoseConfirmationAdmin(ReadOnlyAdmin):
    list_display = ["patient", "slot", "reply", "received_at", "on_time"]
    list_filter = ["on_time", "organization"]
    search_fields = ["patient__first_name", "patient__last_name", "reply"]
    date_hierarchy = "received_at"
    list_select_related = ["patient", "slot"]


@admin.register(PatientRoster)
class PatientRosterAdmin(OrgScopedAdmin, ImportExportModelAdmin):
    """Patients with their caregivers, for CSV/XLSX import and export (with a preview before import)."""

    resource_classes = [PatientResource]
    list_display = ["first_name", "last_name", "phone", "locale", "national_id", "organization"]
    list_filter = ["organization", "locale"]
    search_fields = ["first_name", "last_name", "national_id", "email"]


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    """The Follow up list for an organization's admin to review; assigning, recording and closing
    happen in the portal, where each row links."""

    list_display = ["patient", "reason", "status", "assigned_to", "opened_at", "closed_at", "outcome", "in_portal"]
    list_filter = ["status", "reason", "outcome", "organization"]
    search_fields = ["patient__first_name", "patient__last_name", "patient__national_id"]
    date_hierarchy = "opened_at"
    list_select_related = ["patient", "assigned_to"]

    @admin.display(description="portal")
    def in_portal(self, item):
        return format_html('<a href="{}">Open in the portal</a>', reverse("portal:follow-up-detail", args=[item.pk]))
