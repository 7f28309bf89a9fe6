"""Form fields the admin and the portal share: lists typed as text, as staff write them, not JSON."""

import re

from django import forms


class ListTextField(forms.CharField):
    """A list edited as text: "08:00, 20:00"."""

    def __init__(self, *, separator=",", **kwargs):
        self.separator = separator
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return f"{self.separator} ".join(map(str, value)) if isinstance(value, list) else value

    def to_python(self, value):
        text = super().to_python(value)
        return [part.strip() for part in re.split(r"[,;\n]", text or "") if part.strip()]
