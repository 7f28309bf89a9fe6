from messaging.views_templates import MessageTemplateViewSet
from smsportal.routers import OptionalSlashRouter

router = OptionalSlashRouter()
router.register("api/v1/message-templates", MessageTemplateViewSet, basename="message-template")
urlpatterns = router.urls
