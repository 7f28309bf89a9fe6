from adherence.views import MedicationScheduleViewSet
from smsportal.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("api/v1/medication-schedules", MedicationScheduleViewSet, basename="medication-schedule")
urlpatterns = router.urls
