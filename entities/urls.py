"""Entity APIs in BioT's representation."""

from entities import views, views_consent
from smsportal.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("api/v1/patients", views.PatientViewSet, basename="patient")
router.register("api/v1/caregivers", views.CaregiverViewSet, basename="caregiver")
router.register("api/v1/organization-users", views.OrganizationUserViewSet, basename="organization-user")

router.register("api/v1/consent-programs", views_consent.ConsentProgramViewSet, basename="consent-program")
router.register("api/v1/consent-records", views_consent.ConsentRecordViewSet, basename="consent-record")

urlpatterns = router.urls
