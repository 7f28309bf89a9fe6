"""`rows_as`: a written-out SELECT's rows as model instances, converted as the ORM's own would be
(routing's claim and people lookups, the plugin claim)."""

import pytest
from django.db import connection
from phonenumber_field.phonenumber import PhoneNumber

from plugins.models import PluginInvocation
from smsportal.db import rows_as
from tests.factories import PatientFactory, PluginInvocationFactory

pytestmark = pytest.mark.django_db


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def test_rows_match_the_orms_instances_field_for_field():
    invocation = PluginInvocationFactory(payload={"message": {"text": "1"}}, attempt_log=[{"status": 200}])
    sql = f"SELECT * FROM {_table(PluginInvocation)} WHERE id = %s"  # noqa: S608
    (loaded,) = rows_as(PluginInvocation, sql, [PluginInvocation._meta.pk.get_db_prep_value(invocation.pk, connection)])
    expected = PluginInvocation.objects.get(pk=invocation.pk)
    for field in PluginInvocation._meta.concrete_fields:
        assert getattr(loaded, field.attname) == getattr(expected, field.attname), field.name
    assert loaded.payload == {"message": {"text": "1"}}  # JSON decoded, not its text
    assert loaded._state.adding is False and loaded._state.db == "default"


def test_phone_numbers_come_as_phone_numbers_and_extra_columns_as_attributes():
    patient = PatientFactory(phone="+12025550123")
    model = type(patient)
    sql = f"SELECT *, phone AS phone_text FROM {_table(model)} WHERE phone = %s"  # noqa: S608
    for _ in range(2):  # the second run takes the kept plan
        (loaded,) = rows_as(model, sql, ["+12025550123"])
        assert isinstance(loaded.phone, PhoneNumber) and loaded.phone == patient.phone
        assert loaded.phone_text == "+12025550123"
        assert loaded.organization_id == patient.organization_id


def test_columns_not_selected_are_deferred_and_load_on_access():
    patient = PatientFactory(first_name="Ada")
    model = type(patient)
    (loaded,) = rows_as(model, f"SELECT id FROM {_table(model)} WHERE id = %s", [patient.pk.hex])  # noqa: S608
    assert "first_name" in loaded.get_deferred_fields()
    assert loaded.first_name == "Ada"


def test_no_rows_no_instances():
    model = PluginInvocation
    assert rows_as(model, f"SELECT * FROM {_table(model)} WHERE attempts < 0", []) == []  # noqa: S608
