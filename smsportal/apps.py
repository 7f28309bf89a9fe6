from django.apps import AppConfig


class SmsportalConfig(AppConfig):
    name = "smsportal"
    verbose_name = "smsportal"

    def ready(self):
        from smsportal import checks  # noqa: F401 — registers the system checks
        from smsportal.localcache import connect_invalidation

        connect_invalidation()
