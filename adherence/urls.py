from adherence.follow_up_api import FollowUpViewSet
from adherence.views import MedicationScheduleViewSet
from smsportal.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("api/v1/medication-schedules", MedicationScheduleViewSet, basename="medication-schedule")
router.register("api/v1/follow-ups", FollowUpViewSet, basename="follow-up")
urlpatterns = router.urls
