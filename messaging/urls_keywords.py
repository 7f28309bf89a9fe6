from django.urls import re_path

from messaging import views_keywords

urlpatterns = [
    re_path(r"^api/v1/keyword-commands/?$", views_keywords.KeywordCommandListApi.as_view(), name="keyword-commands"),
    re_path(
        r"^api/v1/keyword-commands/(?P<pk>[0-9]{1,18})/?$",
        views_keywords.KeywordCommandDetailApi.as_view(),
        name="keyword-command",
    ),
]
