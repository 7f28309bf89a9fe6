"""Users and groups in the admin theme (django.contrib.auth registers them with stock classes); superusers only."""

from django.contrib import admin
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User
from django.http import Http404
from django.urls import reverse
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


def view_on_site_absent(request, **kwargs):
    """Django's "view on site" shortcut (`/admin/r/<type>/<id>/`): no model here has a page on the
    site (`get_absolute_url`), so it is always a 404 — the shortcut itself answered an id that is
    not a UUID with a 500, and a valid one of another organization with a different 404."""
    raise Http404("no page on the site for this object")


def admin_login(request, **kwargs):
    """The admin's sign-in page. Opened directly (no `next`), it leads to the admin, not to the
    portal (LOGIN_REDIRECT_URL): the theme's form carries no `next` of its own."""
    if REDIRECT_FIELD_NAME not in request.GET and REDIRECT_FIELD_NAME not in request.POST:
        request.GET = request.GET.copy()
        request.GET[REDIRECT_FIELD_NAME] = reverse("admin:index")
    return admin.site.login(request, **kwargs)
