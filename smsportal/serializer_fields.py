"""Input fields every API shares. DRF's CharField takes a number or a boolean where text belongs
and stores its string ("subject": 5 became "5"); an integrator's mistyped field is a 400 naming it."""

from rest_framework import serializers


class StrictCharField(serializers.CharField):
    """A string, and only a string: a number or list where text belongs is a mistyped field."""

    default_error_messages = {"invalid": "must be a string"}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)
