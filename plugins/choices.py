"""What a plugin registration can subscribe to: actions (events) and the entity types of senders."""

from django.db import models


class PluginAction(models.TextChoices):
    INCOMING_SMS = "_incomingSms", "Incoming SMS"
    SMS_STATUS = "_smsStatus", "SMS delivery status (smsportal extension)"
    CONSENT_CHANGED = "_consentChanged", "Consent changed (smsportal extension)"
    FOLLOW_UP_OPENED = "_followUpOpened", "Patient put on the Follow up list (smsportal extension)"


ENTITY_TYPES = ("patient", "organization-user", "caregiver")
