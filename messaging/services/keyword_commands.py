"""Keyword commands (the reply's first word picks an action): create, change and delete, one
organization's at a time. The API (messaging/views_keywords.py) and the admin share these rules."""

from django.db import IntegrityError, transaction

from messaging.models import KeywordCommand
from smsportal.model_changes import changes_problem


class KeywordCommandInvalid(ValueError):
    """A refused change: `field` names what to fix (the API's JSON name)."""

    def __init__(self, message: str, *, field: str):
        super().__init__(message)
        self.field = field


_JSON_NAMES = {"keyword": "keyword", "action": "action", "plugin_name": "pluginName", "reply_text": "replyText"}


def keyword_command_save(*, command: KeywordCommand, changes: dict) -> KeywordCommand:
    """Apply `changes` (model field → value), validate as the admin does, save. Nothing is saved
    when refused; a keyword the organization already has, or a built-in one, is refused too."""
    if problem := changes_problem(command, changes, exclude=["organization"]):
        name, message = problem
        raise KeywordCommandInvalid(f"{_JSON_NAMES.get(name, name)}: {message}", field=_JSON_NAMES.get(name, name))
    builtin = {kind for kind in ("opt_out", "opt_in", "help") if command.keyword in command.organization.keywords(kind)}
    if builtin:
        raise KeywordCommandInvalid(
            f"keyword: {command.keyword} is a built-in {builtin.pop().replace('_', '-')} keyword", field="keyword"
        )
    try:
        with transaction.atomic():
            command.save()
    except IntegrityError:
        raise KeywordCommandInvalid(f"keyword: {command.keyword} already exists", field="keyword") from None
    return command
