class MessageRejected(Exception):
    """A send request that cannot be accepted; `field` names the offending input."""

    def __init__(self, message: str, *, field: str, code: str = "invalid", status_code: int = 400):
        super().__init__(message)
        self.message = message
        self.field = field
        self.code = code
        self.status_code = status_code
        self.refused: list[dict] = []  # recipients refused up front, when the whole request is refused


class NoGatewayConfigured(MessageRejected):
    def __init__(self):
        super().__init__("No default gateway configured", field="gateway", code="no_gateway", status_code=409)
