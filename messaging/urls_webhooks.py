from django.urls import path

from messaging import views_pull
from messaging import views_webhooks as views

app_name = "gateways"  # the gateways' webhook URLs: reverse("gateways:inbound", ...)
urlpatterns = [
    # Pull mode: a CHT gateway phone polls one URL for both directions (HTTP Basic, no token).
    path("<uuid:gateway_uid>/cht-gateway", views_pull.cht_gateway_poll, name="cht-gateway"),
    path("<uuid:gateway_uid>/cht-gateway/", views_pull.cht_gateway_poll),
    path("<uuid:gateway_uid>/inbound", views.inbound_webhook, name="inbound"),
    path("<uuid:gateway_uid>/inbound/", views.inbound_webhook),
    path("<uuid:gateway_uid>/status", views.status_webhook, name="status"),
    path("<uuid:gateway_uid>/status/", views.status_webhook),
    # The per-gateway token may also be a path segment, for providers that cannot add a query string.
    path("<uuid:gateway_uid>/<str:token>/inbound", views.inbound_webhook, name="inbound-token"),
    path("<uuid:gateway_uid>/<str:token>/status", views.status_webhook, name="status-token"),
]
