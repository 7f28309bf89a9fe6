"""Send APIs: BioT's single send and DHIS2's /api/sms/outbound (also under /api/<version>/)."""

from django.urls import path

from messaging import views_outbound as v
from smsportal.dhis2 import api_path

urlpatterns = [
    path("notification/v1/sms/send", v.SmsSendApi.as_view(), name="sms-send"),
    api_path(r"sms/outbound", v.Dhis2OutboundApi.as_view(), name="dhis2-sms-outbound"),
    api_path(r"sms/outbound/(?P<uid>[^/]+)", v.Dhis2OutboundDetailApi.as_view(), name="dhis2-outbound-sms"),
]
