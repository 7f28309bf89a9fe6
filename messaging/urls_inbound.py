from messaging import views_inbound
from smsportal.dhis2 import api_path

urlpatterns = [
    api_path(r"sms/inbound/?", views_inbound.Dhis2InboundApi.as_view(), name="dhis2-inbound"),
    api_path(
        r"sms/inbound/(?P<uid>[^/]+)/?", views_inbound.Dhis2InboundDetailApi.as_view(), name="dhis2-inbound-detail"
    ),
]
