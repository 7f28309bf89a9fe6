"""A patient's page (their adherence chart, schedules and recent doses) and the schedule form."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render

from adherence.models import MedicationSchedule
from adherence.services import schedule_save, schedule_text_previews
from entities.consent import consent_history, consent_state
from entities.models import Patient
from portal import selectors
from portal.forms import ConsentForm, ScheduleForm
from portal.selectors import follow_up as follow_up_reads
from portal.views.adherence_report import chart, days_range
from portal.views.shared import staff_view


@staff_view
def patient_detail(request, pk):
    patient = get_object_or_404(Patient, pk=pk, organization=request.organization)
    context = patient_context(request, patient)
    context.update(consent_context(person=patient))
    return render(request, "portal/patient.html", context)


def consent_context(*, person, form=None) -> dict:
    """What portal/_consent.html shows for a person (the page's form, or a fresh one)."""
    return {
        "consent_rows": consent_state(person=person),
        "consent_history": consent_history(person=person, limit=50),
        "consent_form": form or ConsentForm(organization=person.organization),
    }


def patient_context(request, patient) -> dict:
    org = request.organization
    start, end = days_range(request)
    bars = selectors.adherence_by_day(organization=org, start=start, end=end, patient=patient)
    return {
        "patient": patient,
        "start": start,
        "end": end,
        "days": (end - start).days + 1,
        "chart": chart(bars),
        "rates": selectors.rates(bars),
        "schedules": _times_sorted(MedicationSchedule.objects.filter(organization=org, patient=patient)),
        "recent": selectors.patient_recent_doses(organization=org, patient=patient),
        "follow_up_history": follow_up_reads.patient_history(organization=org, patient=patient),
    }


@staff_view
def schedule_edit(request, patient_pk, pk=None):
    org = request.organization
    patient = get_object_or_404(Patient, pk=patient_pk, organization=org)
    schedule = (
        get_object_or_404(MedicationSchedule, pk=pk, organization=org, patient=patient)
        if pk
        else MedicationSchedule(organization=org, patient=patient, timezone=org.timezone or "UTC")
    )
    form = ScheduleForm(request.POST or None, instance=schedule)
    # "Preview" shows each language as it would be sent without saving; errors name field and locale.
    if request.method == "POST" and form.is_valid() and "preview" not in request.POST:
        schedule_save(schedule=form.save(commit=False))
        messages.success(request, f"Schedule for {schedule.medication} saved.")
        return redirect("portal:patient", pk=patient.pk)
    context = {
        "form": form,
        "patient": patient,
        "schedule": schedule,
        "is_new": pk is None,
        "previews": schedule_text_previews(schedule),
    }
    return render(request, "portal/schedule_form.html", context)


def _times_sorted(schedules) -> list:
    """Schedules by medication, each one's dose times in the order of the day (the API and imports
    store them as given)."""
    from adherence.schedule import parse_dose_time

    found = list(schedules.order_by("medication"))
    for s in found:
        try:
            s.dose_times = sorted(s.dose_times, key=parse_dose_time)
        except (TypeError, ValueError):
            pass
    return found
