"""Message templates (an organization's reminder, caregiver, consent and HELP texts by language):
create, change and delete, one organization's at a time. The API (messaging/views_templates.py)
and the admin share these rules: the model's clean() normalises the locale and refuses an unknown
placeholder or a text over the segment limit."""

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from messaging.message_templates import MessageTemplate


class TemplateInvalid(ValueError):
    """A refused change: `field` names what to fix; `status_code` 409 for a locale already taken."""

    def __init__(self, message: str, *, field: str, status_code: int = 400):
        super().__init__(message)
        self.field, self.status_code = field, status_code


def template_save(*, template: MessageTemplate, changes: dict) -> MessageTemplate:
    """Apply `changes` (kind, locale, text), validate as the admin does, save. Nothing is saved
    when refused; a second template of the same kind and locale is refused, naming the locale."""
    for name, value in changes.items():
        setattr(template, name, value)
    try:
        template.full_clean(exclude=["organization"])
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        field = name if name in ("kind", "locale", "text") else "body"
        raise TemplateInvalid(f"{field}: {messages[0]}", field=field) from None
    try:
        with transaction.atomic():
            template.save()
    except IntegrityError:
        raise TemplateInvalid(
            f"locale: the organization already has a {template.kind} template in {template.locale!r}; change that one",
            field="locale",
            status_code=409,
        ) from None
    return template
