"""Locales as people and templates carry them: a language ("es") or a language and region ("es-mx"),
lower-case with a dash, whatever the writer's case or underscore ("es_MX")."""

from django.core.exceptions import ValidationError


def locale_normalize(locale: str) -> str:
    return (locale or "").strip().lower().replace("_", "-")


def locale_valid(locale: str) -> bool:
    head, _, tail = locale_normalize(locale).partition("-")
    return 2 <= len(head) <= 3 and head.isalpha() and (not tail or (2 <= len(tail) <= 8 and tail.isalnum()))


def validate_locale(value: str) -> None:
    """A model field's validator: blank, or a locale as `locale_valid` reads it."""
    if value and not locale_valid(value):
        raise ValidationError("a language such as en or es, or a language and region such as es-MX")
