"""Admin: schedules list, CSV import with a preview before anything is written, organization scoping."""

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from entities.models import Patient
from tests.factories import OrganizationUserFactory, PatientFactory

pytestmark = pytest.mark.django_db

CSV = b"first_name,last_name,phone,caregivers\nAna,Lopez,+12025550121,Rosa Lopez +12025550131\nBad,Row,123,\n"


@pytest.fixture
def superuser_client(organization):
    client = Client()
    client.force_login(User.objects.create(username="root", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def org_admin_client(organization):
    client = Client()
    from django.contrib.auth.models import Permission

    user = User.objects.create(username="orgadmin", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(content_type__app_label="adherence"))
    OrganizationUserFactory(organization=organization, user=user)
    client.force_login(user)
    return client


def import_format_index(response) -> str:
    form = response.context["form"]
    return next(str(value) for value, label in form.fields["format"].choices if label == "csv")


def test_patient_import_shows_a_preview_and_writes_only_on_confirm(org_admin_client, organization):
    url = "/admin/adherence/patientroster/import/"
    page = org_admin_client.get(url)
    assert page.status_code == 200

    preview = org_admin_client.post(
        url,
        {"import_file": SimpleUploadedFile("p.csv", CSV, content_type="text/csv"), "format": import_format_index(page)},
    )

    assert preview.status_code == 200
    body = preview.content.decode()
    assert "Some rows failed to validate" in body and "full international format" in body
    assert not Patient.objects.exists()  # nothing is written while a row is invalid

    good = CSV.replace(b"Bad,Row,123,\n", b"")
    preview = org_admin_client.post(
        url,
        {
            "import_file": SimpleUploadedFile("p.csv", good, content_type="text/csv"),
            "format": import_format_index(page),
        },
    )
    assert "Ana" in preview.content.decode() and not Patient.objects.exists()  # a preview writes nothing

    confirm = org_admin_client.post(
        "/admin/adherence/patientroster/process_import/", preview.context["confirm_form"].initial
    )

    assert confirm.status_code == 302
    ana = Patient.objects.get()
    assert ana.organization == organization and ana.caregivers.get().phone == "+12025550131"


def test_schedule_admin_lists_only_own_organization(
    org_admin_client, superuser_client, organization, other_organization
):
    from datetime import date

    from adherence.models import MedicationSchedule

    mine = PatientFactory(organization=organization, first_name="Mine")
    theirs = PatientFactory(organization=other_organization, first_name="Theirs")
    for patient in (mine, theirs):
        MedicationSchedule.objects.create(
            organization=patient.organization, patient=patient, medication=f"Drug of {patient.first_name}",
            dose_times=["08:00"], start_date=date(2026, 1, 1),
        )  # fmt: skip

    listing = org_admin_client.get("/admin/adherence/medicationschedule/").content.decode()

    assert "Drug of Mine" in listing and "Drug of Theirs" not in listing
    everything = superuser_client.get("/admin/adherence/medicationschedule/").content.decode()
    assert "Drug of Theirs" in everything


def test_dose_slot_admin_is_read_only_with_a_send_now_action(superuser_client, organization, gateway):
    from datetime import date

    from adherence.models import DoseSlot, MedicationSchedule
    from adherence.services import schedule_save

    patient = PatientFactory(organization=organization, phone="+12025550151")
    schedule = schedule_save(
        schedule=MedicationSchedule(
            organization=organization, patient=patient, medication="Aspirin", dose_times=["08:00"],
            start_date=date(2026, 1, 1),
        )
    )  # fmt: skip
    slot = DoseSlot.objects.filter(schedule=schedule).first()

    listing = superuser_client.get("/admin/adherence/doseslot/")
    assert listing.status_code == 200 and "send_reminder_now" in listing.content.decode()
    assert superuser_client.get(f"/admin/adherence/doseslot/{slot.pk}/change/").status_code == 200  # view only
    response = superuser_client.post(
        "/admin/adherence/doseslot/", {"action": "send_reminder_now", "_selected_action": [slot.pk]}
    )

    assert response.status_code == 302
    assert DoseSlot.objects.get(pk=slot.pk).status == "reminded"
    reminder = DoseSlot.objects.get(pk=slot.pk).reminder
    assert (reminder.recipient, reminder.source) == ("+12025550151", "schedule")


@pytest.mark.parametrize(
    "url",
    [
        "/admin/adherence/medicationschedule/",
        "/admin/adherence/medicationschedule/add/",
        "/admin/adherence/medicationschedule/export/",
        "/admin/adherence/medicationschedule/import/",
        "/admin/adherence/doseslot/",
        "/admin/adherence/doseconfirmation/",
        "/admin/adherence/patientroster/",
        "/admin/adherence/patientroster/export/",
    ],
)
def test_admin_pages_render(superuser_client, url):
    assert superuser_client.get(url).status_code == 200


def test_schedule_export_as_csv(superuser_client, organization):
    from datetime import date

    from adherence.models import MedicationSchedule

    patient = PatientFactory(organization=organization, phone="+12025550161")
    MedicationSchedule.objects.create(
        organization=organization, patient=patient, medication="Aspirin", dose_times=["08:00", "20:00"],
        start_date=date(2026, 1, 1),
    )  # fmt: skip
    page = superuser_client.get("/admin/adherence/medicationschedule/export/")
    csv_format = next(str(v) for v, label in page.context["form"].fields["format"].choices if label == "csv")
    fields = [name for name in page.context["form"].fields if name.startswith("medicationscheduleresource_")]

    response = superuser_client.post(
        "/admin/adherence/medicationschedule/export/", {"format": csv_format, **dict.fromkeys(fields, "on")}
    )

    body = response.content.decode()
    assert response.status_code == 200, body[:500]
    assert "+12025550161,Aspirin,08:00 20:00" in body
