from django.apps import AppConfig


class EntitiesConfig(AppConfig):
    name = "entities"
    verbose_name = "Organizations and people"

    def ready(self):
        from entities import schema  # noqa: F401 — registers the OpenAPI auth extension
