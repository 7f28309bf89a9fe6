from django.urls import path, re_path

from plugins import apis

urlpatterns = [
    path(".well-known/jwks.json", apis.jwks_view, name="jwks"),
    re_path(r"^api/v1/plugins/?$", apis.PluginListCreateApi.as_view(), name="plugins"),
    re_path(r"^api/v1/plugins/invocations/?$", apis.InvocationListApi.as_view(), name="plugin-invocations"),
    re_path(
        r"^api/v1/plugins/invocations/(?P<invocation_id>[0-9a-f-]{36})/?$",
        apis.InvocationDetailApi.as_view(),
        name="plugin-invocation",
    ),
    re_path(
        r"^api/v1/plugins/invocations/(?P<invocation_id>[0-9a-f-]{36})/retry/?$",
        apis.InvocationRetryApi.as_view(),
        name="plugin-invocation-retry",
    ),
    re_path(r"^api/v1/plugins/(?P<plugin_id>[0-9a-f-]{36})/?$", apis.PluginDetailApi.as_view(), name="plugin"),
    re_path(r"^dispatcher/v1/hooks/notifications/subscribe/?$", apis.BiotSubscribeApi.as_view(), name="biot-subscribe"),
    re_path(
        r"^dispatcher/v1/hooks/notifications/unsubscribe/?$",
        apis.BiotUnsubscribeApi.as_view(),
        name="biot-unsubscribe",
    ),
]
