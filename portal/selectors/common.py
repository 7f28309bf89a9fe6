"""Helpers the portal's reads share: the organization's day, and phone numbers as staff see them."""

from datetime import date, datetime

from django.utils import timezone

from adherence.schedule import zone
from entities.models import Organization


def org_today(organization: Organization, now: datetime | None = None) -> date:
    try:
        tz = zone(organization.timezone or "UTC")
    except ValueError:
        tz = zone("UTC")
    return (now or timezone.now()).astimezone(tz).date()


def phone_masked(phone: str) -> str:
    """A number shown without the whole of it (health data on a shared screen): last 4 digits."""
    digits = "".join(ch for ch in str(phone) if ch.isdigit())
    return f"••• {digits[-4:]}" if digits else "no number"


def phone_key(phone: str) -> str:
    """One thread per number: "+12025550199" and a provider's "12025550199" are the same phone."""
    return "".join(ch for ch in str(phone) if ch.isdigit()) or str(phone)
