"""DHIS2 Web API conventions shared by the SMS, inbound and gateway endpoints.

Every non-list reply is a WebMessage: {"httpStatus", "httpStatusCode", "status", "message", ...}
with null keys omitted and the HTTP status equal to httpStatusCode. Paths answer with and without
a version prefix (/api/26/gateways == /api/gateways).
"""

from datetime import UTC
from http import HTTPStatus

from django.urls.resolvers import RegexPattern, URLPattern
from rest_framework import exceptions
from rest_framework.response import Response

from smsportal.exceptions import ApiError


def web_message(
    message: str,
    *,
    http_status: int = 200,
    status: str | None = None,
    response: dict | None = None,
    error_code: str | None = None,
    dev_message: str | None = None,
    headers: dict | None = None,
) -> Response:
    body = {
        "httpStatus": HTTPStatus(http_status).phrase,
        "httpStatusCode": http_status,
        "status": status or ("OK" if http_status < 400 else "ERROR"),
        "message": message,
        "devMessage": dev_message,
        "response": response,
        "errorCode": error_code,
    }
    return Response({k: v for k, v in body.items() if v is not None}, status=http_status, headers=headers)


def not_found(message: str) -> Response:
    return web_message(message, http_status=404, error_code="E1005")


def conflict(message: str, *, response: dict | None = None) -> Response:
    return web_message(message, http_status=409, error_code="E1004", response=response)


def bad_request(message: str, *, field: str | None = None) -> Response:
    return web_message(message, http_status=400, response={"field": field} if field else None)


def api_path(route: str, view, name: str | None = None, *, pattern: type[RegexPattern] = RegexPattern):
    """A URL pattern under /api/ that also answers under /api/<version>/ (DHIS2 clients use both),
    with or without a trailing slash. `pattern`: a RegexPattern that may refine the match."""
    route = route if route.endswith("/?") else f"{route}/?"
    return URLPattern(pattern(rf"^api/(?:\d+/)?{route}$", name=name, is_endpoint=True), view, name=name)


def pager(*, page: int, page_size: int, total: int) -> dict:
    page_count = max(1, -(-total // page_size)) if page_size else 1
    return {"page": page, "pageCount": page_count, "total": total, "pageSize": page_size}


MAX_PAGE = 1_000_000  # beyond it the offset overflows SQLite's 64-bit integers ("datatype mismatch")


def page_params(request, *, max_page_size: int = 1000) -> tuple[bool, int, int]:
    """DHIS2 paging (`paging`, `page`, `pageSize`), bounded; a bad value → 400 naming the field."""
    paging = (request.query_params.get("paging") or "true").lower() != "false"
    values = {}
    for name, default, upper in (("page", 1, MAX_PAGE), ("pageSize", 50, max_page_size)):
        raw = (request.query_params.get(name) or "").strip()
        if not raw:
            values[name] = default
            continue
        try:
            value = int(raw)
        except ValueError:
            raise ApiError(f"{name} must be an integer", field=name)
        if value < 1:
            raise ApiError(f"{name} must be at least 1", field=name)
        if value > upper:
            raise ApiError(f"{name} must be at most {upper}", field=name)
        values[name] = value
    return paging, values["page"], values["pageSize"]


def dhis2_time(value) -> str | None:
    """ISO 8601 in UTC with its zone and milliseconds ("2024-05-01T10:00:00.000Z"): DHIS2's layout,
    with the `Z` so clients never guess the zone; inbound and outbound objects use the same form."""
    if value is None:
        return None

    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Dhis2ExceptionMixin:
    """Render DRF errors (auth, parse, validation, 404, 405) as WebMessages on DHIS2 endpoints."""

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        data = response.data if isinstance(response.data, dict) else {}
        if isinstance(exc, exceptions.ValidationError) and "fields" in data:
            body = web_message(
                data["error"], http_status=400, response={"field": data.get("field"), "errors": data["fields"]}
            )
        else:
            message = str(data.get("error") or data.get("detail") or HTTPStatus(response.status_code).phrase)
            body = web_message(
                message,
                http_status=response.status_code,
                response={"field": data["field"]} if data.get("field") else None,
            )
        for header in ("WWW-Authenticate", "Allow", "Retry-After"):
            if header in response:
                body[header] = response[header]
        return body
