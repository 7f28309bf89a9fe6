"""Changes an API makes to a model row, validated as the admin validates them (the model's
full_clean), answered with the first problem so the API can name the field."""

from django.core.exceptions import ValidationError


def changes_problem(instance, changes: dict, *, exclude: list[str]) -> tuple[str, str] | None:
    """Set `changes` (field → value) on `instance` and validate it; (field, message) of the first
    problem, or None. Nothing is saved either way."""
    for name, value in changes.items():
        setattr(instance, name, value)
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        name, messages = next(iter(exc.message_dict.items()))
        return name, messages[0]
    return None
