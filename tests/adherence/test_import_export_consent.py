"""Patients' consent travels with them: exported per program, imported into the ledger (source csv_import)."""

import pytest
from django.core.management import call_command

from adherence.resources import PatientResource
from entities.consent import consent_record
from entities.models import Consent, ConsentRecord, Patient
from tests.factories import ConsentProgramFactory, PatientFactory

pytestmark = pytest.mark.django_db

HEADER = "first_name,last_name,phone,locale"


@pytest.fixture
def reminders(organization):
    return ConsentProgramFactory(
        organization=organization, slug="reminders", name="Reminders", consent_text="Daily dose reminders by SMS."
    )


def write(tmp_path, text):
    path = tmp_path / "patients.csv"
    path.write_text(text)
    return path


def test_export_has_each_programs_status_time_and_source(organization, reminders):
    ConsentProgramFactory(organization=organization, slug="general", name="General")
    ana = PatientFactory(organization=organization, phone="+12025550121")
    PatientFactory(organization=organization, phone="+12025550122")
    record = consent_record(organization=organization, person=ana, program=reminders, status="opted_in", source="api")

    rows = {row["phone"]: row for row in PatientResource(organization=organization).export().dict}

    assert rows["+12025550121"]["consent:reminders"] == "opted_in"
    assert rows["+12025550121"]["consent:reminders:at"] == record.created_at.isoformat()
    assert rows["+12025550121"]["consent:reminders:source"] == "api"
    assert rows["+12025550121"]["consent:general"] == "unknown"
    assert rows["+12025550122"]["consent:reminders"] == "unknown"
    assert rows["+12025550122"]["consent:reminders:at"] == ""


def test_export_shows_only_the_organizations_programs(organization, other_organization, reminders):
    ConsentProgramFactory(organization=other_organization, slug="theirs")
    PatientFactory(organization=organization, phone="+12025550121")

    headers = PatientResource(organization=organization).export().headers

    assert "consent:reminders" in headers
    assert not any("theirs" in h for h in headers)


def test_import_writes_ledger_records_from_csv_import(tmp_path, organization, reminders, capsys):
    before = f"{HEADER},consent:reminders\nBen,Okafor,+12025550122,en-us,\n"
    call_command("import_patients", str(write(tmp_path, before)), org=organization.slug)
    csv = f"{HEADER},consent:reminders\nAna,Lopez,+12025550121,es,opted in\nBen,Okafor,+12025550122,en-us,OPTED_OUT\n"

    call_command("import_patients", str(write(tmp_path, csv)), org=organization.slug)

    assert "0 rejected" in capsys.readouterr().out
    ana = Patient.objects.get(phone="+12025550121")
    record = ConsentRecord.objects.get(entity_id=ana.pk)
    assert (record.status, record.source, record.text) == ("opted_in", "csv_import", "Daily dose reminders by SMS.")
    # Ben's own columns did not change: his row still records the consent.
    ben = Patient.objects.get(phone="+12025550122")
    assert Consent.objects.get(entity_id=ben.pk).status == "opted_out"

    call_command("import_patients", str(write(tmp_path, csv)), org=organization.slug)  # the same file again
    assert ConsentRecord.objects.count() == 2  # nothing changed, nothing recorded


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("consent:nope", "opted_in", "consent:nope: unknown program 'nope'"),
        ("consent:reminders", "maybe", "consent:reminders: 'maybe': one of opted_in, opted_out"),
    ],
)
def test_a_bad_consent_column_rejects_the_row_and_saves_nothing(
    tmp_path, organization, reminders, capsys, column, value, reason
):
    csv = f"{HEADER},{column}\nAna,Lopez,+12025550121,es,{value}\nBen,Okafor,+12025550122,en,\n"

    call_command("import_patients", str(write(tmp_path, csv)), org=organization.slug)

    out = capsys.readouterr().out
    assert "1 created, 0 updated, 0 unchanged, 1 rejected" in out
    assert f"rejected row 1: {reason}" in out
    assert not Patient.objects.filter(phone="+12025550121").exists()
    assert not ConsentRecord.objects.exists()


def test_another_organizations_program_is_unknown(tmp_path, organization, other_organization, capsys):
    ConsentProgramFactory(organization=other_organization, slug="theirs")
    csv = f"{HEADER},consent:theirs\nAna,Lopez,+12025550121,es,opted_in\n"

    with pytest.raises(Exception, match="no row could be imported"):
        call_command("import_patients", str(write(tmp_path, csv)), org=organization.slug)

    assert "consent:theirs: unknown program" in capsys.readouterr().out
    assert not ConsentRecord.objects.exists()


def test_an_export_imported_again_records_nothing(organization, reminders):
    ana = PatientFactory(organization=organization, phone="+12025550121")
    consent_record(organization=organization, person=ana, program=reminders, status="opted_in", source="portal")
    data = PatientResource(organization=organization).export()

    result = PatientResource(organization=organization).import_data(data)

    assert not result.has_errors() and not result.has_validation_errors()
    assert ConsentRecord.objects.count() == 1


def test_dry_run_records_no_consent(tmp_path, organization, reminders):
    csv = f"{HEADER},consent:reminders\nAna,Lopez,+12025550121,es,opted_in\n"

    call_command("import_patients", str(write(tmp_path, csv)), org=organization.slug, dry_run=True)

    assert not ConsentRecord.objects.exists()
