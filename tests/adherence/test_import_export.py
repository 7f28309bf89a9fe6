"""Patients (with caregivers) and schedules from CSV: `manage.py import_patients` and the resources."""

import pytest
import tablib
from django.core.management import CommandError, call_command

from adherence.models import DoseSlot, MedicationSchedule
from adherence.resources import MedicationScheduleResource, PatientResource
from entities.models import Caregiver, Patient
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

CSV = """first_name,last_name,phone,email,locale,gender,national_id,caregivers
Ana,Lopez,+12025550121,ana@example.org,es-mx,female,A1,Rosa Lopez +12025550131
Ben,Okafor,(202) 555-0122,,en-us,MALE,B2,
Cy,Bad,12345,,en-us,,C3,
Di,Care,+12025550124,,en-us,,D4,Bad Caregiver 12
"""


def write(tmp_path, text, name="patients.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_import_patients_creates_updates_and_rejects_with_reasons(tmp_path, organization, capsys):
    organization.default_region = "US"
    organization.save()
    path = write(tmp_path, CSV)

    call_command("import_patients", str(path), org=organization.slug)

    out, err = capsys.readouterr()
    assert "4 rows: 2 created, 0 updated, 0 unchanged, 2 rejected" in out
    assert "rejected row 3: phone:" in out
    assert "rejected row 4: caregivers:" in out
    assert "4/4" in err  # the progress bar
    ana = Patient.objects.get(organization=organization, phone="+12025550121")
    assert (ana.locale, ana.gender) == ("es-mx", "FEMALE")
    assert list(ana.caregivers.values_list("first_name", "phone")) == [("Rosa", "+12025550131")]
    assert Patient.objects.filter(phone="+12025550122").exists()  # national format read with the region

    write(tmp_path, CSV.replace("Ana,Lopez", "Ana,Lopez-Diaz"))
    call_command("import_patients", str(path), org=organization.slug)
    out, _ = capsys.readouterr()
    assert "0 created, 1 updated, 1 unchanged, 2 rejected" in out
    assert Patient.objects.get(phone="+12025550121").last_name == "Lopez-Diaz"
    assert Caregiver.objects.count() == 1


def test_dry_run_changes_nothing(tmp_path, organization, capsys):
    call_command("import_patients", str(write(tmp_path, CSV)), org=organization.slug, dry_run=True)

    assert "would be created" in capsys.readouterr().out
    assert Patient.objects.count() == 0


def test_unknown_org_and_wrong_file_type_are_clear_errors(tmp_path, organization):
    with pytest.raises(CommandError, match="unknown organization"):
        call_command("import_patients", str(write(tmp_path, CSV)), org="nope")
    with pytest.raises(CommandError, match=".csv or .xlsx"):
        call_command("import_patients", str(write(tmp_path, "x", name="p.txt")), org=organization.slug)


def test_import_never_touches_another_organizations_patient(tmp_path, organization, other_organization):
    theirs = PatientFactory(organization=other_organization, phone="+12025550121", first_name="Theirs")

    call_command("import_patients", str(write(tmp_path, CSV)), org=organization.slug)

    theirs.refresh_from_db()
    assert theirs.first_name == "Theirs"
    assert Patient.objects.filter(phone="+12025550121").count() == 2


def test_patient_export_includes_caregivers(organization):
    patient = PatientFactory(organization=organization, first_name="Ana", last_name="Lopez", phone="+12025550121")
    patient.caregivers.create(organization=organization, first_name="Rosa", last_name="L", phone="+12025550131")

    data = PatientResource(organization=organization).export()

    assert data.dict[0]["caregivers"] == "Rosa L +12025550131"


def test_schedule_import_validates_and_creates_slots(organization, gateway):
    PatientFactory(organization=organization, phone="+12025550121")
    data = tablib.Dataset(headers=["patient_phone", "medication", "dose_times", "start_date", "timezone"])
    data.append(["+12025550121", "Metformin", "08:00 20:00", "2026-01-01", "Europe/Paris"])
    data.append(["+12025550121", "Aspirin", "09:00", "2026-01-01", "Mars/Olympus"])
    data.append(["+12025559999", "Aspirin", "09:00", "2026-01-01", "UTC"])

    result = MedicationScheduleResource(organization=organization).import_data(data)

    assert [r.import_type for r in result.rows] == ["new", "invalid", "invalid"]
    assert "timezone" in result.invalid_rows[0].error_dict
    assert "patient_phone" in result.invalid_rows[1].error_dict
    schedule = MedicationSchedule.objects.get()
    assert schedule.dose_times == ["08:00", "20:00"] and schedule.confirm_replies == ["1", "Medication Taken"]
    assert DoseSlot.objects.filter(schedule=schedule).exists()


def test_import_patients_reads_xlsx(tmp_path, organization, capsys):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["first_name", "last_name", "phone", "caregivers"])
    sheet.append(["Eva", "Stone", "+12025550141", "Tom Stone +12025550142"])
    path = tmp_path / "patients.xlsx"
    book.save(path)

    call_command("import_patients", str(path), org=organization.slug)

    assert "1 rows: 1 created" in capsys.readouterr().out
    assert Patient.objects.get(phone="+12025550141").caregivers.get().first_name == "Tom"
