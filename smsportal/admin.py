"""Users and groups in the admin theme (django.contrib.auth registers them with stock classes); superusers only."""

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from entities.tenancy import PlatformMixin
from smsportal.admin_base import BaseModelAdmin

admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class ThemedUserAdmin(PlatformMixin, UserAdmin, BaseModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm


@admin.register(Group)
class ThemedGroupAdmin(PlatformMixin, GroupAdmin, BaseModelAdmin):
    pass
