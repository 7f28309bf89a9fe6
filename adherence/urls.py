from rest_framework.routers import SimpleRouter

from adherence.views import MedicationScheduleViewSet

router = SimpleRouter(trailing_slash="/?")
router.register("api/v1/medication-schedules", MedicationScheduleViewSet, basename="medication-schedule")
urlpatterns = router.urls
