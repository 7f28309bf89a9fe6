"""Superuser-only admin: which organization each number of a global gateway belongs to.

An organization using a global gateway sends from its own numbers there and gets every reply to
them (docs/gateways.md, "Replies on a global gateway"). The numbers themselves are listed on the
gateway (its *inbound numbers*); here a superuser only assigns them.
"""

from django import forms
from django.contrib import admin

from entities.tenancy import PlatformAdmin
from gateways.exceptions import ConfigError
from gateways.models import InboundNumber
from gateways.services import inbound_number_assign, inbound_number_assign_check


class InboundNumberForm(forms.ModelForm):
    class Meta:
        model = InboundNumber
        fields = ["organization"]

    def clean(self):
        cleaned = super().clean()
        try:
            inbound_number_assign_check(number=self.instance, organization=cleaned.get("organization"))
        except ConfigError as exc:
            self.add_error("organization", str(exc))
        return cleaned


@admin.register(InboundNumber)
class InboundNumberAdmin(PlatformAdmin):
    form = InboundNumberForm
    list_display = ["number", "country", "gateway", "organization"]
    list_filter = ["country", "gateway"]
    list_select_related = ["gateway", "organization"]
    search_fields = ["number"]
    readonly_fields = ["number", "country", "gateway"]
    fields = ["number", "country", "gateway", "organization"]

    def get_queryset(self, request):
        # Numbers are listed (added, removed) on their gateway; only a global gateway's are assigned.
        return super().get_queryset(request).filter(gateway__organization__isnull=True)

    def has_add_permission(self, request, *args):
        return False  # numbers are listed on their gateway

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        inbound_number_assign(number=obj, organization=form.cleaned_data.get("organization"))
