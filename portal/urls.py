from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import path
from django.views.generic import RedirectView

from portal.views import (
    adherence_report,
    consent,
    conversations,
    follow_up,
    live,
    message_log,
    organizations,
    patients,
    send,
    simulator,
    today,
)

app_name = "portal"
urlpatterns = [
    # The site's root is the portal (its login when signed out); browsers ask for /favicon.ico unprompted.
    path("", RedirectView.as_view(pattern_name="portal:today"), name="root"),
    path("favicon.ico", RedirectView.as_view(url=static("portal/favicon.svg"), permanent=True), name="favicon"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="portal/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(next_page="portal:login"), name="logout"),
    path("portal/", today.today, name="today"),
    path("portal/organizations/", organizations.organizations, name="organizations"),
    path("portal/doses/<int:pk>/remind", today.dose_remind, name="dose-remind"),
    path("portal/plugin/install", today.plugin_install, name="plugin-install"),
    path("portal/follow-up/", follow_up.follow_up_list, name="follow-up"),
    path("portal/follow-up/<uuid:pk>/", follow_up.follow_up_detail, name="follow-up-detail"),
    path("portal/follow-up/<uuid:pk>/action", follow_up.follow_up_action, name="follow-up-action"),
    path("portal/adherence/", adherence_report.adherence, name="adherence"),
    path("portal/adherence/export.csv", adherence_report.adherence_export, name="adherence-export"),
    path("portal/patients/<uuid:pk>/", patients.patient_detail, name="patient"),
    path("portal/patients/<uuid:pk>/consent", consent.patient_consent, name="patient-consent"),
    path("portal/patients/<uuid:patient_pk>/schedules/new", patients.schedule_edit, name="schedule-new"),
    path("portal/patients/<uuid:patient_pk>/schedules/<uuid:pk>/", patients.schedule_edit, name="schedule-edit"),
    path("portal/conversations/", conversations.conversations, name="conversations"),
    path("portal/conversations/number/<uuid:message_id>/", conversations.number_thread, name="number-thread"),
    path(
        "portal/conversations/number/<uuid:message_id>/send",
        conversations.number_thread_send,
        name="number-thread-send",
    ),
    path("portal/conversations/<str:entity_type>/<uuid:pk>/", conversations.thread, name="thread"),
    path("portal/conversations/<str:entity_type>/<uuid:pk>/send", conversations.thread_send, name="thread-send"),
    path("portal/messages/<uuid:message_id>/resend", conversations.message_resend, name="message-resend"),
    path("portal/messages/", message_log.message_log, name="message-log"),
    path("portal/messages/export.csv", message_log.message_log_export, name="message-log-export"),
    path("portal/send/", send.send, name="send"),
    path("portal/text-info", send.text_info, name="text-info"),
    path("portal/simulator/", simulator.simulator, name="simulator"),
    path("portal/simulator/reply", simulator.simulator_reply, name="simulator-reply"),
    path("portal/live", live.live, name="live"),
]
