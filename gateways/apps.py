from django.apps import AppConfig


class GatewaysConfig(AppConfig):
    name = "gateways"
    verbose_name = "SMS gateways"

    def ready(self):
        from gateways import checks  # noqa: F401 — registers the system checks
