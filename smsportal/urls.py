from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from smsportal.admin import admin_login, view_on_site_absent
from smsportal.health import healthz

# The hot paths first (sends, webhooks): Django tries the patterns in order on every request.
urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("", include("messaging.urls")),
    path("webhooks/", include("messaging.urls_webhooks")),
    path("admin/login/", admin_login, name="admin-login"),
    path("admin/r/<path:rest>", view_on_site_absent),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("", include("gateways.api_urls")),
    path("", include("entities.urls")),
    path("", include("plugins.urls")),
    path("", include("adherence.urls")),
    path("", include("mfa.urls")),
    path("", include("portal.urls")),
]

handler400 = "smsportal.exceptions.bad_request"
handler404 = "smsportal.exceptions.page_not_found"
handler500 = "smsportal.exceptions.server_error"
