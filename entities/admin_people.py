"""A "person" column for admin lists whose rows name someone by (entity_type, entity_id): inbound
messages, consent records. Their name links to their page; a page's people are read in one query
per type, not one per row, and only from the row's own organization."""

from collections import defaultdict

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from entities.models import ENTITY_MODELS


def people_attach(rows) -> None:
    """Set `row.listed_person` (or None) on each row with `entity_type`, `entity_id` and `organization_id`."""
    wanted: dict[str, set] = defaultdict(set)
    for row in rows:
        if row.entity_id and row.entity_type in ENTITY_MODELS:
            wanted[row.entity_type].add(row.entity_id)
    found = {}
    for entity_type, ids in wanted.items():
        for person in (
            ENTITY_MODELS[entity_type]
            .objects.filter(id__in=ids)
            .only("id", "organization_id", "first_name", "last_name")
        ):
            found[entity_type, person.id] = person
    for row in rows:
        person = found.get((row.entity_type, row.entity_id))
        row.listed_person = person if person is not None and person.organization_id == row.organization_id else None


class PersonColumnMixin:
    """Adds the `person` column; put "person" in list_display."""

    def get_changelist(self, request, **kwargs):
        changelist = super().get_changelist(request, **kwargs)

        class WithPeople(changelist):
            def get_results(self, request):
                super().get_results(request)
                people_attach(self.result_list)

        return WithPeople

    @admin.display(description="person")
    def person(self, obj):
        person = getattr(obj, "listed_person", None)
        if person is None:
            return "no longer on record" if obj.entity_id else "—"
        url = reverse(f"admin:entities_{person._meta.model_name}_change", args=[person.pk])
        return format_html('<a href="{}">{}</a>', url, person.full_name or str(person.pk))
