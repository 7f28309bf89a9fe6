"""The admin's plugin registration form: entity types and actions as checkboxes of the allowed values.

Validation is plugins.validation.registration_validate (run by the model's clean), so
the admin and the plugins API accept the same registrations; each problem is shown on its field.
"""

from django import forms

from plugins.choices import ENTITY_TYPES, PluginAction
from plugins.models import PluginRegistration
from smsportal.admin_base import CheckboxMultipleWidget

ENTITY_TYPE_LABELS = {"patient": "Patients", "organization-user": "Organization users", "caregiver": "Caregivers"}


class PluginRegistrationForm(forms.ModelForm):
    # Not required here: the model's validation names an empty choice once, with the allowed values.
    entity_types = forms.MultipleChoiceField(
        label="Entity types",
        required=False,
        choices=[(t, ENTITY_TYPE_LABELS.get(t, t)) for t in ENTITY_TYPES],
        widget=CheckboxMultipleWidget,
        help_text="The plugin is called for messages from these senders.",
    )
    actions = forms.MultipleChoiceField(
        label="Actions",
        required=False,
        choices=PluginAction.choices,
        widget=CheckboxMultipleWidget,
        help_text="The events the plugin is called for.",
    )

    class Meta:
        model = PluginRegistration
        fields = [
            "organization",
            "name",
            "url",
            "handler",
            "entity_types",
            "actions",
            "enabled",
            "timeout_seconds",
            "max_attempts",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance._state.adding:  # a new plugin: the usual case ticked (the model's default is empty)
            self.initial["entity_types"] = self.initial.get("entity_types") or ["patient"]
            self.initial["actions"] = self.initial.get("actions") or [PluginAction.INCOMING_SMS.value]


class RotateSecretForm(forms.Form):
    """The confirmation of *Rotate secret* (a POST, so a link or a crawler cannot rotate it)."""

    confirm = forms.BooleanField(
        label="The old secret stops working at once",
        help_text="Update the plugin's configuration with the new secret right after.",
    )
