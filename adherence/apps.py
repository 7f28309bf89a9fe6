from django.apps import AppConfig


class AdherenceConfig(AppConfig):
    name = "adherence"
    verbose_name = "Medication adherence"

    def ready(self):
        from adherence import embedded

        if embedded.should_start():
            embedded.start()
