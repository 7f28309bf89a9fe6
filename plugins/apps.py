from django.apps import AppConfig


def _consent_changed(sender, *, record, person, previous_status, **kwargs):
    from plugins.invocations import plugins_invoke_consent

    plugins_invoke_consent(record=record, person=person, previous_status=previous_status)


class PluginsConfig(AppConfig):
    name = "plugins"
    verbose_name = "Plugins"

    def ready(self):
        # Here, not at import: the listener's modules import models, which need the app registry.
        from messaging.listeners import listen
        from plugins.listener import LISTENER

        listen(LISTENER)
        # entities/ records consent and sits below plugins/ (and messaging/): it sends a signal.
        from entities.consent import consent_changed

        consent_changed.connect(_consent_changed, dispatch_uid="plugins.consent_changed")
