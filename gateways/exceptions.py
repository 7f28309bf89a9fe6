"""Gateway errors: what the pipeline does next depends only on the class."""

from django.core.exceptions import SuspiciousOperation


class GatewayError(Exception):
    """Base of every provider error. Messages never contain phone numbers, bodies or secrets."""


class GatewayTemporaryError(GatewayError):
    """The provider provably did not accept the batch (connect refused, 429, 5xx): retry later."""

    def __init__(self, message: str, *, result_code: str = "RESULT_CODE_504", retry_after: float | None = None):
        super().__init__(message)
        self.result_code = result_code
        self.retry_after = retry_after


class GatewayRejectedError(GatewayError):
    """The provider refused the batch for good (bad credentials, invalid request)."""

    def __init__(self, message: str, *, result_code: str = "FAILED"):
        super().__init__(message)
        self.result_code = result_code


class GatewayAmbiguousError(GatewayError):
    """The request may have reached the provider (read timeout, reset after send): reconcile, never resend blindly."""


class WebhookValidationError(GatewayError, SuspiciousOperation):
    """A provider callback failed its authenticity check."""


class ConfigError(ValueError):
    """A gateway configuration problem, naming the field."""

    def __init__(self, message: str, *, field: str, errors: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.field = field
        self.errors = errors or [(field, message)]  # every (field, message) found, first = `field`

    @classmethod
    def combined(cls, problems: list["ConfigError"]) -> "ConfigError":
        """One error carrying every (field, message) of `problems`, the first one first."""
        pairs = [pair for exc in problems for pair in exc.errors]
        return cls(pairs[0][1], field=pairs[0][0], errors=pairs)
