"""API error shape: every 4xx names the problem and, where there is one, the field."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler


class ApiError(exceptions.APIException):
    """A business error with an explicit status, e.g. 409 for an idempotency-key conflict."""

    def __init__(self, detail: str, *, status_code: int = 400, field: str | None = None, code: str = "error"):
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.field = field


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        body = {"error": str(exc.detail), "code": exc.get_codes()}
        if exc.field:
            body["field"] = exc.field
        return Response(body, status=exc.status_code)
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        first_field = next(iter(errors), None)
        first = errors.get(first_field) if first_field else None
        text = first[0] if isinstance(first, list) and first else first
        summary = f"{first_field}: {text}" if first_field and first_field != "non_field_errors" else str(text)
        response.data = {"error": summary, "fields": errors}
        response.status_code = status.HTTP_400_BAD_REQUEST
        return response
    if isinstance(response.data, dict) and "detail" in response.data:
        response.data = {"error": str(response.data["detail"])}
    return response
