from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _roles_sync(sender, **kwargs):
    from entities.roles import roles_sync

    roles_sync()


class EntitiesConfig(AppConfig):
    name = "entities"
    verbose_name = "Organizations and people"

    def ready(self):
        from entities import consent, schema  # noqa: F401 — consent's signals; the OpenAPI auth extension

        # After every app's migrate (permissions are created per app): the roles' groups stay in sync.
        post_migrate.connect(_roles_sync, dispatch_uid="entities.roles_sync")
        # The admin autodiscovered every app's admin module in its own ready() (it is listed first).
        from entities.tenancy import third_party_admins_platform_only

        third_party_admins_platform_only()
