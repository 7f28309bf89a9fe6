class MessageRejected(Exception):
    """A send request that cannot be accepted; `field` names the offending input."""

    def __init__(self, message: str, *, field: str, code: str = "invalid", status_code: int = 400, detail: str = ""):
        super().__init__(f"{message} ({detail})" if detail else message)
        self.message = message  # DHIS2's exact text where it has one
        self.detail = detail  # what makes it wrong here, e.g. "1100 characters, the limit is 1071"
        self.field = field
        self.code = code
        self.status_code = status_code
        self.refused: list[dict] = []  # recipients refused up front, when the whole request is refused

    def __str__(self) -> str:
        return f"{self.message} ({self.detail})" if self.detail else self.message


class NoGatewayConfigured(MessageRejected):
    def __init__(self):
        super().__init__("No default gateway configured", field="gateway", code="no_gateway", status_code=409)
