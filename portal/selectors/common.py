"""Helpers the portal's reads share: the organization's day, phone numbers as staff see them, search words."""

from datetime import date, datetime

from django.db.models import Q
from django.utils import timezone

from entities.models import Organization


def org_today(organization: Organization, now: datetime | None = None) -> date:
    return (now or timezone.now()).astimezone(organization.zone()).date()


def phone_masked(phone: str) -> str:
    """A number shown without the whole of it (health data on a shared screen): last 4 digits."""
    digits = "".join(ch for ch in str(phone) if ch.isdigit())
    return f"••• {digits[-4:]}" if digits else "no number"


def phone_key(phone: str) -> str:
    """One thread per number: "+12025550199" and a provider's "12025550199" are the same phone."""
    return "".join(ch for ch in str(phone) if ch.isdigit()) or str(phone)


def words_q(query: str, *fields: str) -> Q:
    """Every word of `query` in one of `fields` (case-insensitive): "Sam Okafor" finds Sam Okafor,
    whose first and last names are separate columns. At most 4 words, so a pasted paragraph stays cheap."""
    match = Q()
    for word in query.split()[:4]:
        any_field = Q()
        for name in fields:
            any_field |= Q(**{f"{name}__icontains": word})
        match &= any_field
    return match
