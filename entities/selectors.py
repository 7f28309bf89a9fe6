"""Reads about organizations and people. Other apps ask here instead of querying entities.models."""

from django.db.models import QuerySet

from entities.models import ENTITY_MODELS, Organization, Person


def organization_for_user(user) -> Organization | None:
    """The organization a request acts for: the API key's, or the staff user's."""
    org = getattr(user, "organization", None)
    if org is not None:
        return org
    org_user = getattr(user, "organization_user", None) if getattr(user, "pk", None) else None
    return org_user.organization if org_user is not None else None


def organizations_visible_to(user) -> QuerySet[Organization]:
    if getattr(user, "is_superuser", False):
        return Organization.objects.all()
    org = organization_for_user(user)
    return Organization.objects.filter(pk=org.pk) if org else Organization.objects.none()


def scope_to_user(queryset: QuerySet, user, *, field: str = "organization") -> QuerySet:
    """Restrict a queryset to the caller's organization; superusers see everything."""
    if getattr(user, "is_superuser", False):
        return queryset
    org = organization_for_user(user)
    if org is None:
        return queryset.none()
    return queryset.filter(**{field: org.pk})  # the pk: `pk=<Organization>` is not a valid UUID


def contacts_get_by_phone(*, organization: Organization, phone_number: str) -> list[Person]:
    """Every patient, organization user and caregiver of the organization with that E.164 number."""
    found: list[Person] = []
    for model in ENTITY_MODELS.values():
        found.extend(model.objects.filter(organization=organization, phone=phone_number)[:2])
    return found


def organizations_with_contact(*, phone_number: str) -> set:
    """Ids of every organization with a patient, organization user or caregiver at this E.164 number."""
    found: set = set()
    for model in ENTITY_MODELS.values():
        found.update(model.objects.filter(phone=phone_number).values_list("organization_id", flat=True).distinct())
    return found


def phone_number_shared(person: Person) -> bool:
    """True when another entity of the same organization has this person's number."""
    if not person.phone:
        return False
    for model in ENTITY_MODELS.values():
        qs = model.objects.filter(organization_id=person.organization_id, phone=person.phone)
        if isinstance(person, model):
            qs = qs.exclude(pk=person.pk)
        if qs.exists():
            return True
    return False
