"""Message templates (an organization's reminder, caregiver, consent and HELP texts by language):
create, change and delete, one organization's at a time. The API (messaging/views_templates.py)
and the admin share these rules: the model's clean() normalises the locale and refuses an unknown
placeholder or a text over the segment limit."""

from django.db import IntegrityError, transaction

from messaging.message_templates import MessageTemplate
from smsportal.model_changes import changes_problem


class TemplateInvalid(ValueError):
    """A refused change: `field` names what to fix; `status_code` 409 for a locale already taken."""

    def __init__(self, message: str, *, field: str, status_code: int = 400):
        super().__init__(message)
        self.field, self.status_code = field, status_code


def template_save(*, template: MessageTemplate, changes: dict) -> MessageTemplate:
    """Apply `changes` (kind, locale, text), validate as the admin does, save. Nothing is saved
    when refused; a second template of the same kind and locale is refused, naming the locale."""
    if problem := changes_problem(template, changes, exclude=["organization"]):
        name, message = problem
        field = name if name in ("kind", "locale", "text") else "body"
        raise TemplateInvalid(f"{field}: {message}", field=field)
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
