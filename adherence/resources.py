"""CSV/XLSX import and export (django-import-export) of patients with their caregivers, and of schedules.

Used by the admin (with its preview before import) and by `manage.py import_patients`. A row
with a bad value is rejected with the reason; the other rows are still imported.

Patients carry their consent (docs/consent.md): per consent program a `consent:<slug>` column with
the current status, and `consent:<slug>:at` / `consent:<slug>:source` saying when and how it was
recorded (export only). Importing a `consent:<slug>` column records `opted_in` / `opted_out` in the
ledger with source `csv_import` (blank or `unknown`: nothing; the same status as now: nothing).
"""

import json
import re

from django.core.exceptions import ValidationError
from import_export import fields, resources, widgets

from adherence.models import MedicationSchedule
from adherence.services import slots_resync
from entities.consent import ConsentError, consent_record, program_get
from entities.models import Caregiver, Consent, ConsentProgram, ConsentSource, ConsentStatus, Organization, Patient
from smsportal.phones import InvalidPhoneNumber, to_e164
from smsportal.spreadsheet import spreadsheet_cell, spreadsheet_value

CAREGIVER_RE = re.compile(r"^(?P<name>.*?)\s*<?(?P<phone>\+?[\d][\d\s().-]{5,})>?$")


class OrganizationScopedResource(resources.ModelResource):
    """Rows belong to the importing staff member's organization; superusers name it per row (slug)."""

    organization = fields.Field(
        attribute="organization", column_name="organization", widget=widgets.ForeignKeyWidget(Organization, "slug")
    )

    def __init__(self, organization: Organization | None = None, **kwargs):
        super().__init__(**kwargs)
        self.organization = organization

    def get_queryset(self):
        qs = super().get_queryset()
        return qs.filter(organization=self.organization) if self.organization else qs

    def export_field(self, field, instance, **kwargs):
        return spreadsheet_cell(super().export_field(field, instance, **kwargs))

    def before_import_row(self, row, **kwargs):
        for key, value in list(row.items()):
            row[key] = spreadsheet_value(value)

    def before_import(self, dataset, **kwargs):
        if self.organization is not None and "organization" not in (dataset.headers or []):
            dataset.append_col([self.organization.slug] * len(dataset), header="organization")
        super().before_import(dataset, **kwargs)

    def row_organization(self, row) -> Organization:
        if self.organization is not None:
            row["organization"] = self.organization.slug
            return self.organization
        slug = (row.get("organization") or "").strip()
        org = Organization.objects.filter(slug=slug).first() if slug else None
        if org is None:
            raise ValidationError({"organization": f"unknown organization {slug!r}" if slug else "required"})
        return org

    @staticmethod
    def phone(raw, *, organization, field="phone") -> str:
        try:
            return to_e164(str(raw or ""), region=organization.default_region or None)
        except InvalidPhoneNumber as exc:
            raise ValidationError({field: str(exc)})


CONSENT_PREFIX = "consent:"
CONSENT_DETAILS = (":at", ":source")  # export-only columns beside each program's status


class PatientResource(OrganizationScopedResource):
    caregivers = fields.Field(column_name="caregivers", attribute=None)

    def __init__(self, organization: Organization | None = None, **kwargs):
        super().__init__(organization, **kwargs)
        programs = ConsentProgram.objects.all()
        if organization is not None:
            programs = programs.filter(organization=organization)
        for slug in sorted(set(programs.values_list("slug", flat=True))):
            for suffix in ("", *CONSENT_DETAILS):
                name = f"{CONSENT_PREFIX}{slug}{suffix}"
                self.fields[name] = fields.Field(column_name=name, attribute=None)
        self._consents: dict | None = None

    class Meta:
        model = Patient
        fields = [
            "organization",
            "first_name",
            "last_name",
            "phone",
            "email",
            "locale",
            "gender",
            "date_of_birth",
            "national_id",
            "address_country_code",
            "caregivers",
        ]
        export_order = fields
        import_id_fields = ["organization", "phone"]
        clean_model_instances = True
        skip_unchanged = True
        report_skipped = True

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        organization = self.row_organization(row)
        row["phone"] = self.phone(row.get("phone"), organization=organization)
        for key in ("last_name", "email", "locale", "gender", "national_id", "address_country_code"):
            if row.get(key) is None:
                row[key] = ""
        if row.get("gender"):
            row["gender"] = str(row["gender"]).strip().upper()
        row["_caregivers"] = self.caregivers_parse(row.get("caregivers"), organization=organization)
        row["_consents"] = self.consents_parse(row, organization=organization)

    @staticmethod
    def consents_parse(row, *, organization) -> list[tuple[ConsentProgram, str]]:
        """(program, status) for each `consent:<slug>` column with a status; a bad program or
        status is a ValidationError naming the column, before anything of the row is saved."""
        found = []
        for column, value in row.items():
            column = str(column)
            if not column.startswith(CONSENT_PREFIX) or column.endswith(CONSENT_DETAILS):
                continue
            status = "_".join(str(value or "").strip().lower().replace("-", " ").split())
            if status in ("", ConsentStatus.UNKNOWN):
                continue
            try:
                program = program_get(organization=organization, program=column[len(CONSENT_PREFIX) :], field=column)
            except ConsentError as exc:
                raise ValidationError({column: exc.message})
            if status not in (ConsentStatus.OPTED_IN, ConsentStatus.OPTED_OUT):
                raise ValidationError({column: f"{str(value)[:40]!r}: one of opted_in, opted_out (or blank)"})
            found.append((program, status))
        return found

    def skip_row(self, instance, original, row, import_validation_errors=None):
        if row.get("_consents") and instance.pk:
            current = dict(
                Consent.objects.filter(entity_type=instance.entity_type, entity_id=instance.pk).values_list(
                    "program_id", "status"
                )
            )
            if any(current.get(program.pk) != status for program, status in row["_consents"]):
                return False  # the consent changes though the patient's own columns do not
        return super().skip_row(instance, original, row, import_validation_errors)

    def caregivers_parse(self, value, *, organization) -> list[tuple[str, str]]:
        found = []
        for item in str(value or "").split(";"):
            if not item.strip():
                continue
            match = CAREGIVER_RE.match(item.strip())
            if not match:
                raise ValidationError({"caregivers": f'"{item.strip()}": expected "Name +12025550123"'})
            found.append(
                (match["name"].strip(), self.phone(match["phone"], organization=organization, field="caregivers"))
            )
        return found

    def dehydrate_caregivers(self, patient):
        return "; ".join(f"{c.full_name} {c.phone}".strip() for c in patient.caregivers.all())

    def export_field(self, field, instance, **kwargs):
        name = field.column_name
        if not name.startswith(CONSENT_PREFIX):
            return super().export_field(field, instance, **kwargs)
        slug, _, detail = name[len(CONSENT_PREFIX) :].partition(":")
        status, at, source = self.consents().get((instance.pk, slug), (ConsentStatus.UNKNOWN, None, ""))
        if detail == "at":
            return at.isoformat() if at else ""
        return spreadsheet_cell(source if detail == "source" else status)

    def consents(self) -> dict:
        """(patient id, program slug) → (status, when, source): one query for the whole export."""
        if self._consents is None:
            qs = Consent.objects.filter(entity_type=Patient.entity_type)
            if self.organization is not None:
                qs = qs.filter(organization=self.organization)
            rows = qs.values_list("entity_id", "program__slug", "status", "updated_at", "last_record__source")
            self._consents = {(pk, slug): (status, at, source or "") for pk, slug, status, at, source in rows}
        return self._consents

    def after_save_instance(self, instance, row, **kwargs):
        if self._is_dry_run(kwargs) and not self._is_using_transactions(kwargs):
            return  # nothing was saved (manage.py import_patients --dry-run)
        for program, status in row.get("_consents") or []:
            consent_record(
                organization=instance.organization,
                person=instance,
                program=program,
                status=status,
                source=ConsentSource.CSV_IMPORT,
                text=program.consent_text if status == ConsentStatus.OPTED_IN else "",
                user=kwargs.get("user"),
                skip_unchanged=True,
            )
        for name, phone in row.get("_caregivers") or []:
            first, _, last = name.partition(" ")
            caregiver, _ = Caregiver.objects.get_or_create(
                organization=instance.organization,
                phone=phone,
                defaults={"first_name": first or "Caregiver", "last_name": last},
            )
            caregiver.patients.add(instance)


class JsonWidget(widgets.Widget):
    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return None
        try:
            return json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON ({exc.msg})")

    def render(self, value, obj=None, **kwargs):
        return json.dumps(value, ensure_ascii=False)


class ListWidget(widgets.Widget):
    """ "08:00 20:00" or "08:00,20:00" ↔ ["08:00", "20:00"]; `separator` splits on export."""

    def __init__(self, *, separator=" ", cast=str):
        self.separator, self.cast = separator, cast

    def clean(self, value, row=None, **kwargs):
        if value in (None, ""):
            return None
        parts = [p for p in re.split(r"[|,;]" if self.separator == "|" else r"[\s,;]+", str(value)) if p.strip()]
        try:
            return [self.cast(p.strip()) for p in parts]
        except ValueError as exc:
            raise ValueError(f"bad list item ({exc})")

    def render(self, value, obj=None, **kwargs):
        return self.separator.join(str(v) for v in value or [])


class PatientByPhoneWidget(widgets.ForeignKeyWidget):
    """The patient with this number in the row's organization (numbers repeat across organizations)."""

    def __init__(self):
        super().__init__(Patient, "phone")

    def get_queryset(self, value, row, *args, **kwargs):
        return Patient.objects.filter(organization__slug=row.get("organization"))


class MedicationScheduleResource(OrganizationScopedResource):
    patient_phone = fields.Field(column_name="patient_phone", attribute="patient", widget=PatientByPhoneWidget())
    dose_times = fields.Field(attribute="dose_times", column_name="dose_times", widget=ListWidget())
    days_of_week = fields.Field(
        attribute="days_of_week", column_name="days_of_week", widget=ListWidget(separator=",", cast=int)
    )
    confirm_replies = fields.Field(
        attribute="confirm_replies", column_name="confirm_replies", widget=ListWidget(separator="|")
    )
    reminder_texts = fields.Field(attribute="reminder_texts", column_name="reminder_texts", widget=JsonWidget())

    class Meta:
        model = MedicationSchedule
        fields = ["organization", "patient_phone", *MedicationSchedule.SETTINGS]
        export_order = fields
        import_id_fields = ["organization", "patient_phone", "medication"]
        clean_model_instances = True

    def before_import_row(self, row, **kwargs):
        super().before_import_row(row, **kwargs)
        organization = self.row_organization(row)
        phone = self.phone(row.get("patient_phone"), organization=organization, field="patient_phone")
        if not Patient.objects.filter(organization=organization, phone=phone).exists():
            raise ValidationError({"patient_phone": "no patient of the organization has this number"})
        row["patient_phone"] = phone

    def import_field(self, field, instance, row, is_m2m=False, **kwargs):
        if row.get(field.column_name) in (None, "") and field.attribute not in ("medication", "start_date"):
            return  # keep the model default for optional columns left empty
        super().import_field(field, instance, row, is_m2m=is_m2m, **kwargs)

    def after_save_instance(self, instance, row, **kwargs):
        slots_resync(schedule=instance)
