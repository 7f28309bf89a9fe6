"""API error shape: every 4xx names the problem and, where there is one, the field.

`{"error": "<field>: <message>", "field": "<field>", "fields": {...}}`; DHIS2 views re-render it
as a WebMessage (smsportal.dhis2.Dhis2ExceptionMixin).
"""

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from smsportal.http import API_PREFIXES
from smsportal.middleware import (
    DATABASE_UNAVAILABLE,
    RETRY_AFTER_SECONDS,
    current_exception_is_outage,
    database_unavailable,
    is_database_outage,
)
from smsportal.security import lockout_message


class ApiError(exceptions.APIException):
    """A business error with an explicit status, e.g. 409 for an idempotency-key conflict."""

    def __init__(self, detail: str, *, status_code: int = 400, field: str | None = None, code: str = "error"):
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.field = field


class ApiErrorSerializer(serializers.Serializer):
    """The error shape of the BioT-style and entity APIs (what api_exception_handler renders), for the schema."""

    error = serializers.CharField()
    field = serializers.CharField(required=False)
    fields = serializers.DictField(required=False)
    code = serializers.CharField(required=False)


def flatten_errors(errors, prefix: str = "") -> list[tuple[str, str]]:
    """DRF's nested error structure as (dotted.field[0], message) pairs, in order."""
    if isinstance(errors, dict):
        pairs = []
        for key, value in errors.items():
            name = str(key) if key != "non_field_errors" else ""
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{name}" if prefix and name else (name or prefix)
            pairs.extend(flatten_errors(value, path))
        return pairs
    if isinstance(errors, list):
        if all(not isinstance(e, dict | list) for e in errors):
            return [(prefix, str(e)) for e in errors]
        pairs = []
        for index, value in enumerate(errors):
            if value:
                pairs.extend(flatten_errors(value, f"{prefix}[{index}]" if isinstance(value, dict | list) else prefix))
        return pairs
    return [(prefix, str(errors))]


def api_exception_handler(exc, context):
    request = context.get("request")
    if getattr(request, "axes_locked_out", False):
        # django-axes flags a lockout on the DRF request; Django's authenticate() only returns None.
        message, retry_after = lockout_message()
        return Response({"error": message}, status=429, headers={"Retry-After": retry_after})
    if is_database_outage(exc):
        return Response({"error": DATABASE_UNAVAILABLE}, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    if isinstance(exc, RequestDataTooBig):
        return Response({"error": "request body is too large"}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
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
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # Missing or wrong credentials: the header at fault (the response keeps WWW-Authenticate).
        response.data = {"error": str(exc.detail), "field": "Authorization"}
        return response
    if isinstance(exc, exceptions.ParseError):
        # Malformed JSON or form data: the field at fault is the body itself, unless the parser
        # named the field holding hostile input (smsportal/parsers.py).
        field = getattr(exc, "field", "body")
        return Response({"error": str(exc.detail), "code": "parse_error", "field": field}, status=400)
    if isinstance(exc, exceptions.ValidationError):
        errors = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        pairs = flatten_errors(errors) or [("", "invalid input")]
        field, text = pairs[0]
        if not field and request is not None and not isinstance(_parsed_body(request), dict):
            field = "body"  # a JSON array or scalar where an object belongs
            errors = {"body": errors.pop("non_field_errors", errors)} if "non_field_errors" in errors else errors
        summary = f"{field}: {text}" if field else text
        body = {"error": summary, "fields": errors}
        if field:
            body["field"] = field
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    detail = response.data.get("detail") if isinstance(response.data, dict) else None
    if detail is not None:
        response.data = {"error": str(detail)}
    return response


def _parsed_body(request):
    try:
        return request.data
    except exceptions.APIException:  # a body of an unsupported type: the error at hand is another one
        return None


def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIXES)


def page_not_found(request, exception=None):
    if _is_api(request):
        return JsonResponse({"error": f"no API endpoint or object at {request.path}"}, status=404)
    return _page(404, "Page not found", "There is nothing at this address. It may have moved, or the link is mistyped.")


def server_error(request):
    if current_exception_is_outage():
        return database_unavailable(request)  # an outage met outside a view (middleware, session)
    if _is_api(request):
        return JsonResponse({"error": "internal error; it has been logged"}, status=500)
    return _page(500, "Something went wrong", "The error has been logged. Try again in a moment.")


def _page(status: int, title: str, explanation: str) -> HttpResponse:
    """An error page in the portal's look, rendered without the request (nothing it needs can fail)."""
    from django.template import loader

    try:
        body = loader.get_template("portal/error.html").render({"title": title, "explanation": explanation})
    except Exception:  # noqa: BLE001 — a broken template must still leave a plain answer
        body = f"<h1>{title}</h1>"
    return HttpResponse(body, status=status)


def bad_request(request, exception=None):
    if _is_api(request):
        message = "request body is too large" if isinstance(exception, RequestDataTooBig) else "bad request"
        return JsonResponse({"error": message}, status=413 if isinstance(exception, RequestDataTooBig) else 400)
    return defaults.bad_request(request, exception)
