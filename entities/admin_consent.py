"""Admin for consent: programs (an organization's admin edits its own), the ledger (read-only
except for appending a change, source "admin"), and the consent panel of a person's page."""

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from entities.admin_people import PersonColumnMixin
from entities.consent import ConsentError, consent_history, consent_record, consent_state, person_get
from entities.models import ENTITY_MODELS, ConsentProgram, ConsentRecord, ConsentSource, ConsentStatus
from entities.tenancy import OrganizationScopedAdmin, acting_organization
from smsportal.admin_base import admin_when


@admin.register(ConsentProgram)
class ConsentProgramAdmin(OrganizationScopedAdmin):
    list_display = ["name", "slug", "keyword", "require_consent", "organization"]
    list_filter = ["require_consent", "organization"]
    search_fields = ["name", "slug", "keyword"]
    fields = ["organization", "name", "slug", "keyword", "require_consent", "consent_text", "sources"]
    prepopulated_fields = {"slug": ["name"]}


class ConsentRecordForm(forms.ModelForm):
    """Append a change for one person (chosen by type and id, checked to be the organization's)."""

    entity_type = forms.ChoiceField(choices=[(k, k) for k in ENTITY_MODELS], label="person type")
    entity_id = forms.UUIDField(label="person id")
    status = forms.ChoiceField(choices=ConsentStatus.choices, label="status")

    class Meta:
        model = ConsentRecord
        fields = ["organization", "program", "entity_type", "entity_id", "status", "text", "note"]

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization") or self.tenancy_organization
        program = cleaned.get("program")
        if organization is None or program is None or "entity_id" not in cleaned:
            return cleaned
        if program.organization_id != organization.pk:
            self.add_error("program", "belongs to another organization")
            return cleaned
        try:
            cleaned["person"] = person_get(
                organization=organization, entity_type=cleaned["entity_type"], entity_id=cleaned["entity_id"]
            )
        except ConsentError as exc:
            self.add_error("entity_id", exc.message)
        return cleaned


@admin.register(ConsentRecord)
class ConsentRecordAdmin(PersonColumnMixin, OrganizationScopedAdmin):
    """The ledger: every change, never edited or deleted; "add" appends one (source: admin)."""

    form = ConsentRecordForm
    list_display = ["created_at", "program", "person", "entity_type", "status", "source", "actor", "organization"]
    list_filter = ["status", "source", "program", "organization"]
    search_fields = ["=entity_id", "actor", "text"]
    list_select_related = ["program"]
    date_hierarchy = "created_at"

    def get_fields(self, request, obj=None):
        if obj is None:
            return super().get_fields(request, obj)
        return [f.name for f in ConsentRecord._meta.fields]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in ConsentRecord._meta.fields] if obj is not None else []

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        organization = acting_organization(request) or form.cleaned_data["organization"]
        record = consent_record(
            organization=organization,
            person=form.cleaned_data["person"],
            program=form.cleaned_data["program"],
            status=form.cleaned_data["status"],
            source=ConsentSource.ADMIN,
            text=form.cleaned_data.get("text", ""),
            note=form.cleaned_data.get("note", ""),
            user=request.user,
        )
        obj.pk, obj._state.adding = record.pk, False


# The panel is a read-only field's HTML: plain tables, spaced inline (no stylesheet of ours there).
_CELL = 'style="padding: 2px 16px 2px 0; text-align: left; vertical-align: top"'


def _row(cells: int, tag: str = "td") -> str:
    return "<tr>" + f"<{tag} {_CELL}>{{}}</{tag}>" * cells + "</tr>"


def consent_panel(person) -> str:
    """A person's consent per program and their last changes, for the person's admin page."""
    if person is None or person.pk is None:
        return "—"
    state = format_html_join(
        "",
        _row(3),
        (
            (row["program"].name, ConsentStatus(row["status"]).label, admin_when(row["updated_at"]))
            for row in consent_state(person=person)
        ),
    )
    history = format_html_join(
        "",
        _row(5),
        (
            (admin_when(r.created_at), r.program.name, r.get_status_display(), r.get_source_display(), r.actor)
            for r in consent_history(person=person, limit=10)
        ),
    )
    url = reverse("admin:entities_consentrecord_changelist") + f"?q={person.pk}"
    return format_html(
        '<table>{}{}</table><p style="margin: 12px 0 4px; font-weight: 600">{}</p><table>{}{}</table>'
        '<p style="margin-top: 8px"><a href="{}" style="text-decoration: underline">{}</a></p>',
        format_html(_row(3, "th"), "Program", "Status", "Since"),
        state or format_html("<tr><td colspan=3>{}</td></tr>", "No programs."),
        "Last changes",
        format_html(_row(5, "th"), "When", "Program", "Status", "How", "By"),
        history or format_html("<tr><td colspan=5>{}</td></tr>", "No changes yet."),
        url,
        "Full history",
    )
