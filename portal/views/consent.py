"""A person's consent on their portal page: the status per program, the full history, and a form
for staff to record what the person agreed to (source "portal", by the signed-in staff member)."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from entities.consent import ConsentError, consent_record
from entities.models import ConsentSource, Patient
from portal.forms import ConsentForm
from portal.views.patients import consent_context, patient_context
from portal.views.shared import staff_view


@staff_view
@require_POST
def patient_consent(request, pk):
    patient = get_object_or_404(Patient, pk=pk, organization=request.organization)
    form = ConsentForm(request.POST, organization=request.organization)
    if form.is_valid():
        try:
            consent_record(
                organization=request.organization,
                person=patient,
                program=form.cleaned_data["program"],
                status=form.cleaned_data["status"],
                source=ConsentSource.PORTAL,
                text=form.cleaned_data["text"],
                note=form.cleaned_data["note"],
                user=request.user,
            )
        except ConsentError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            messages.success(request, f"Consent recorded: {form.cleaned_data['program'].name}.")
            return redirect("portal:patient", pk=patient.pk)
    context = patient_context(request, patient)
    context.update(consent_context(person=patient, form=form))
    return render(request, "portal/patient.html", context, status=400)
