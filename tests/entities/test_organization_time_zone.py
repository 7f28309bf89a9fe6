"""An organization's time zone must be one the system knows: an unknown one would make quiet hours
and schedules silently run in UTC. The admin's form names the field."""

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from entities.models import Organization

pytestmark = pytest.mark.django_db


def _admin_form(organization, admin_user, timezone: str):
    model_admin = admin.site._registry[Organization]
    request = RequestFactory().get("/admin/")
    request.user = admin_user
    form_class = model_admin.get_form(request, organization)
    data = {field: getattr(organization, field) for field in form_class.base_fields if hasattr(organization, field)}
    data.update(timezone=timezone, parent="", quiet_hours_start="", quiet_hours_end="")
    for name in ("opt_out_keywords", "opt_in_keywords", "help_keywords"):
        data[name] = ""  # typed as a list ("BAJA, ARRET"); none here
    return form_class(data=data, instance=organization)


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "utc+2", "", "Europe/Osloo"])
def test_an_unknown_time_zone_is_a_form_error_on_the_field(organization, admin_user, bad):
    form = _admin_form(organization, admin_user, bad)

    assert not form.is_valid()
    assert "timezone" in form.errors
    organization.refresh_from_db()
    assert organization.timezone == "UTC"


@pytest.mark.parametrize("good", ["Europe/Oslo", "America/New_York", "UTC"])
def test_a_known_time_zone_is_accepted(organization, admin_user, good):
    form = _admin_form(organization, admin_user, good)

    assert form.is_valid(), form.errors
    form.save()
    organization.refresh_from_db()
    assert organization.timezone == good


def test_full_clean_refuses_an_unknown_zone(organization):
    organization.timezone = "Mars/Olympus_Mons"
    with pytest.raises(ValidationError) as caught:
        organization.full_clean()
    assert "timezone" in caught.value.message_dict
