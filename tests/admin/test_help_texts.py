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
