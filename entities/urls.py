"""Entity APIs in BioT's representation."""

from rest_framework.routers import SimpleRouter

from entities import views

router = SimpleRouter(trailing_slash="/?")
router.register("api/v1/patients", views.PatientViewSet, basename="patient")
router.register("api/v1/caregivers", views.CaregiverViewSet, basename="caregiver")
router.register("api/v1/organization-users", views.OrganizationUserViewSet, basename="organization-user")

urlpatterns = router.urls
