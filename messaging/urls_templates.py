from django.urls import re_path

from messaging import views_templates

urlpatterns = [
    re_path(
        r"^api/v1/message-templates/?$", views_templates.MessageTemplateListApi.as_view(), name="message-templates"
    ),
    re_path(
        r"^api/v1/message-templates/kinds/?$",
        views_templates.MessageTemplateKindsApi.as_view(),
        name="message-template-kinds",
    ),
    re_path(
        r"^api/v1/message-templates/(?P<pk>[0-9]{1,18})/?$",
        views_templates.MessageTemplateDetailApi.as_view(),
        name="message-template",
    ),
]
