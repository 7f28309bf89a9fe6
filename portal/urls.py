from django.contrib.auth import views as auth_views
from django.urls import path

from portal import views

app_name = "portal"
urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="portal/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="portal:login"), name="logout"),
    path("portal/", views.today, name="today"),
    path("portal/organizations/", views.organizations, name="organizations"),
    path("portal/doses/<int:pk>/remind", views.dose_remind, name="dose-remind"),
    path("portal/plugin/install", views.plugin_install, name="plugin-install"),
    path("portal/adherence/", views.adherence, name="adherence"),
    path("portal/adherence/export.csv", views.adherence_export, name="adherence-export"),
    path("portal/patients/<uuid:pk>/", views.patient_detail, name="patient"),
    path("portal/patients/<uuid:patient_pk>/schedules/new", views.schedule_edit, name="schedule-new"),
    path("portal/patients/<uuid:patient_pk>/schedules/<uuid:pk>/", views.schedule_edit, name="schedule-edit"),
    path("portal/conversations/", views.conversations, name="conversations"),
    path("portal/conversations/number/<uuid:message_id>/", views.number_thread, name="number-thread"),
    path("portal/conversations/number/<uuid:message_id>/send", views.number_thread_send, name="number-thread-send"),
    path("portal/conversations/<str:entity_type>/<uuid:pk>/", views.thread, name="thread"),
    path("portal/conversations/<str:entity_type>/<uuid:pk>/send", views.thread_send, name="thread-send"),
    path("portal/messages/<uuid:message_id>/resend", views.message_resend, name="message-resend"),
    path("portal/send/", views.send, name="send"),
    path("portal/text-info", views.text_info, name="text-info"),
    path("portal/simulator/", views.simulator, name="simulator"),
    path("portal/simulator/reply", views.simulator_reply, name="simulator-reply"),
    path("portal/live", views.live, name="live"),
]
