"""The admin writes model help texts as HTML (Django marks them safe): a "<keyword>" in one would
vanish as an unknown tag, leaving the admin a sentence with a hole in it."""

import re

from django.apps import apps


def test_no_help_text_holds_what_a_browser_would_take_for_a_tag():
    tag_like = re.compile(r"<[A-Za-z/!]")
    found = [
        f"{model._meta.label}.{field.name}: {field.help_text}"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if tag_like.search(str(getattr(field, "help_text", "") or ""))
    ]
    assert found == []


def test_the_patient_phone_field_looks_like_every_other_text_field(client, org_a_admin, org_a):
    """It is a form field of its own (national numbers are read in the organization's region):
    drawn without the theme, it looked like read-only text."""
    import re

    from tests.factories import PatientFactory

    patient = PatientFactory(organization=org_a, phone="+12025550102")
    client.force_login(org_a_admin)
    page = client.get(f"/admin/entities/patient/{patient.pk}/change/").content.decode()

    def classes(name: str) -> str:
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page).group(0)
        return re.search(r'class="([^"]*)"', tag).group(1)

    assert classes("phone") == classes("first_name") != ""
