"""Entity APIs in BioT's representation."""

from entities import views
from smsportal.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("api/v1/patients", views.PatientViewSet, basename="patient")
router.register("api/v1/caregivers", views.CaregiverViewSet, basename="caregiver")
router.register("api/v1/organization-users", views.OrganizationUserViewSet, basename="organization-user")

urlpatterns = router.urls
