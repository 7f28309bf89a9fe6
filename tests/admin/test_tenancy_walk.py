"""Every model in the admin, walked as organization A's admin: nothing of organization B can be
seen, chosen or changed (lists, filters, forms, actions, exports, URLs).

The test reads `admin.site._registry`, so a model registered later is walked too: one registered
without the tenancy layer (entities/tenancy.py) fails here, and so does one without a factory.
"""

import re
from html.parser import HTMLParser

import pytest
from django import forms
from django.contrib import admin
from django.urls import reverse

from entities.models import Organization
from entities.tenancy import PlatformMixin, TenancyMixin, organization_id_of
from tests.admin.conftest import FACTORIES, b_markers, make, rows_of

pytestmark = pytest.mark.django_db

REGISTRY = sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


class FormFields(HTMLParser):
    """The values a browser would post from the page's change form."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._in_form = False
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._in_form = (attrs.get("id") or "").endswith("_form")
        if not self._in_form:
            return
        name = attrs.get("name")
        if tag == "input" and name and attrs.get("type") not in ("submit", "button", "file"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.data.setdefault(name, []).append(attrs.get("value") or "")
        elif tag == "select" and name:
            self._select = name
            self.data.setdefault(name, [])
        elif tag == "option" and self._select and "selected" in attrs:
            self.data[self._select].append(attrs.get("value") or "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data[name] = [""]

    def handle_data(self, data):
        if self._textarea:
            self.data[self._textarea] = [self.data[self._textarea][0] + data]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form":
            self._in_form = False


def posted(html: str) -> dict:
    parser = FormFields()
    parser.feed(html)
    return {k: v if len(v) != 1 else v[0] for k, v in parser.data.items()}


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def assert_nothing_of_b(html: str, markers: set[str], where: str):
    leaked = sorted(m for m in markers if m in html)
    assert not leaked, f"{where} shows organization B's {leaked}"


def form_of(response):
    context = response.context
    return context["adminform"].form if context and "adminform" in context else None


def assert_no_choice_of_b(form, b_rows: dict, b_org: Organization, where: str):
    for name, field in form.fields.items():
        if isinstance(field, forms.ModelChoiceField):
            model = field.queryset.model
            theirs = [pk for m, rows in b_rows.items() if issubclass(m, model) or issubclass(model, m) for pk in rows]
            assert not field.queryset.filter(pk__in=theirs).exists(), f"{where}: field {name} offers B's rows"
        elif isinstance(field, forms.ChoiceField):
            values = {str(value) for value, _ in field.choices}
            assert str(b_org.pk) not in values, f"{where}: field {name} offers organization B"


def b_choice(field, b_rows: dict, b_org: Organization):
    """The id of a row of B that could go into `field` (None when B has none)."""
    if isinstance(field, forms.ModelChoiceField):
        model = field.queryset.model
        if issubclass(model, Organization):
            return str(b_org.pk)
        for m, rows in b_rows.items():
            if (issubclass(m, model) or issubclass(model, m)) and rows:
                return str(next(iter(rows)))
    elif isinstance(field, forms.ChoiceField) and "organization" in (field.label or "").lower():
        return str(b_org.pk)
    return None


def add_page(client, model):
    """The add form; for an add view that first asks for a kind (gateway type), its first kind."""
    add_url = url(model, "add")
    response = client.get(add_url)
    if response.status_code == 200 and form_of(response) is None:
        match = re.search(r'href="(?:' + re.escape(add_url) + r')?\?([^"]+)"', response.content.decode())
        assert match, f"{model._meta.label}: the add page shows no form and no kind to choose"
        add_url = f"{add_url}?{match.group(1).replace('&amp;', '&')}"
        response = client.get(add_url)
    return add_url, response


def post_with_b_ids(client, page_url, response, b_rows, b_org):
    form = form_of(response)
    data = posted(response.content.decode())
    for name, field in form.fields.items():
        value = b_choice(field, b_rows, b_org)
        if value is not None:
            data[name] = [value] if isinstance(field, forms.ModelMultipleChoiceField) else value
    data.setdefault("organization", str(b_org.pk))
    answer = client.post(page_url, data)
    assert answer.status_code < 500, f"POST {page_url} with B's ids answered {answer.status_code}"
    return answer


def post_wrong_types(client, page_url, response, model):
    """Every field of the form set to text no field accepts whole: form errors, never a 500, nothing saved."""
    form = form_of(response)
    if not form.fields:
        return  # every field read-only: nothing to post
    data = {**posted(response.content.decode()), **dict.fromkeys(form.fields, "{not valid")}
    count = model._default_manager.count()
    answer = client.post(page_url, data)
    assert answer.status_code == 200, f"POST {page_url} with wrong types answered {answer.status_code}"
    assert form_of(answer).errors, f"POST {page_url} with wrong types shows no error"
    assert model._default_manager.count() == count


def assert_a_rows_point_nowhere_in_b(model, org_a, b_rows):
    b_pks = {(m._meta.concrete_model, pk) for m, rows in b_rows.items() for pk in rows}
    path_model = model._meta.concrete_model
    for row in path_model._default_manager.all():
        if organization_id_of(row) != org_a.pk:
            continue
        for field in path_model._meta.get_fields():
            if field.many_to_many and field.concrete:
                related = getattr(row, field.name).all()
            elif field.many_to_one and field.concrete:
                related = [getattr(row, field.name)]
            else:
                continue
            for obj in related:
                if obj is not None:
                    key = (obj._meta.concrete_model, obj.pk)
                    assert key not in b_pks, f"A's {row._meta.label} {row.pk} now points at B's {key}"


@pytest.mark.parametrize("model,model_admin", REGISTRY, ids=[m._meta.label for m, _ in REGISTRY])
def test_organization_admin_sees_chooses_and_changes_nothing_of_another_organization(
    client, org_a, org_b, org_a_admin, model, model_admin
):
    client.force_login(org_a_admin)
    label = model._meta.label
    if isinstance(model_admin, PlatformMixin):
        assert client.get(url(model, "changelist")).status_code == 403, f"{label} is platform-wide"
        assert client.get(url(model, "add")).status_code == 403
        assert url(model, "changelist") not in client.get("/admin/").content.decode()
        return
    assert isinstance(model_admin, TenancyMixin), (
        f"{label}: register it with entities.tenancy.OrganizationScopedAdmin (or PlatformAdmin if platform-wide)"
    )
    if model is Organization:
        mine = org_a
    else:
        assert model in FACTORIES, f"{label}: add a factory to tests/factories.py and tests/admin/conftest.py"
        mine = make(model, org_a)
    b_rows = rows_of(org_b)
    markers = b_markers(org_b, b_rows)
    theirs = [pk for m, rows in b_rows.items() if issubclass(m, model._meta.concrete_model) for pk in rows]
    assert theirs, f"{label}: organization B has no row to hide"

    # The list, its filters, its search and its date drill-down.
    listing = client.get(url(model, "changelist"))
    assert listing.status_code == 200
    html = listing.content.decode()
    assert url(model, "change", mine.pk) in html, f"{label}: A's own row is missing from the list"
    for pk in theirs:
        assert url(model, "change", pk) not in html, f"{label}: the list shows B's row {pk}"
    assert_nothing_of_b(html, markers, f"{label} list")
    assert_nothing_of_b(client.get(url(model, "changelist"), {"q": "Bravo"}).content.decode(), markers, "search")

    before = rows_of(org_b)
    # The add form offers nothing of B; posting B's ids changes nothing of B.
    if model_admin.has_add_permission(_request(org_a_admin)):
        add_url, response = add_page(client, model)
        assert response.status_code == 200
        assert_no_choice_of_b(form_of(response), b_rows, org_b, f"{label} add form")
        assert_nothing_of_b(response.content.decode(), markers, f"{label} add form")
        post_with_b_ids(client, add_url, response, b_rows, org_b)
        post_wrong_types(client, add_url, response, model)

    # A's change form likewise; posting it with B's ids leaves A's row pointing at nothing of B.
    change_url = url(model, "change", mine.pk)
    response = client.get(change_url)
    assert response.status_code == 200
    assert_nothing_of_b(response.content.decode(), markers, f"{label} change form")
    if form_of(response) is not None and model_admin.has_change_permission(_request(org_a_admin), mine):
        assert_no_choice_of_b(form_of(response), b_rows, org_b, f"{label} change form")
        post_with_b_ids(client, change_url, response, b_rows, org_b)
        post_wrong_types(client, change_url, response, model)
        mine.refresh_from_db()
        assert organization_id_of(mine) == org_a.pk

    # Exports (django-import-export) hold A's rows only.
    if hasattr(model_admin, "export_action"):
        export_form = client.get(url(model, "export")).context["form"]
        choices = {name: "on" for name, f in export_form.fields.items() if isinstance(f, forms.BooleanField)}
        export = client.post(url(model, "export"), {**choices, "format": "0", "resource": "0"})
        assert export.status_code == 200 and "csv" in export["Content-Type"], export["Content-Type"]
        content = export.content.decode()
        assert f"\n{org_a.slug}," in content, f"{label}: A's rows are missing from the export"
        assert_nothing_of_b(content, markers, f"{label} export")

    # B's pages do not open (last: the "does not exist" notices repeat the id asked for).
    for pk in theirs:
        for view in ("change", "delete", "history"):
            assert client.get(url(model, view, pk)).status_code in (302, 403, 404), f"{label} {view} of B's {pk}"

    # Posting B's own change form, and an action (delete) on B's ids.
    client.post(url(model, "change", theirs[0]), {"name": "taken"})
    client.post(url(model, "changelist"), {"action": "delete_selected", "_selected_action": theirs, "post": "yes"})
    assert rows_of(org_b) == before, f"{label}: a POST changed organization B's rows"
    assert_a_rows_point_nowhere_in_b(model, org_a, b_rows)


def _request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/admin/")
    request.user = user
    return request
