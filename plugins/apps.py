from django.apps import AppConfig


class PluginsConfig(AppConfig):
    name = "plugins"
    verbose_name = "Plugins"

    def ready(self):
        # Here, not at import: the listener's modules import models, which need the app registry.
        from messaging.listeners import listen
        from plugins.listener import LISTENER

        listen(LISTENER)
