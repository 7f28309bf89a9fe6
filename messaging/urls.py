from django.urls import include, path

urlpatterns = [
    path("", include("messaging.urls_outbound")),
    path("", include("messaging.urls_inbound")),
    path("", include("messaging.urls_keywords")),
    path("", include("messaging.urls_templates")),
]
