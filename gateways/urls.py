from django.urls import path

from gateways import views

app_name = "gateways"
urlpatterns = [
    path("<uuid:gateway_uid>/inbound", views.inbound_webhook, name="inbound"),
    path("<uuid:gateway_uid>/inbound/", views.inbound_webhook),
    path("<uuid:gateway_uid>/status", views.status_webhook, name="status"),
    path("<uuid:gateway_uid>/status/", views.status_webhook),
]
