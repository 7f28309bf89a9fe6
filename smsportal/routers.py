from rest_framework.routers import SimpleRouter


class OptionalSlashRouter(SimpleRouter):
    """API routes that answer with and without the trailing slash.

    DRF's `trailing_slash` is a boolean; without this, a POST to `/api/v1/patients` would hit
    Django's slash redirect, which drops the body.
    """

    def __init__(self):
        super().__init__()
        self.trailing_slash = "/?"
