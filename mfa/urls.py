from django.urls import path

from mfa import views

app_name = "mfa"
urlpatterns = [
    path("accounts/two-factor/", views.verify, name="verify"),
    path("accounts/two-factor/recovery-codes", views.recovery_codes, name="recovery-codes"),
]
