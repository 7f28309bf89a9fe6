"""DHIS2 Web API conventions shared by the SMS, inbound and gateway endpoints.

Every non-list reply is a WebMessage: {"httpStatus", "httpStatusCode", "status", "message", ...}
with null keys omitted and the HTTP status equal to httpStatusCode. Paths answer with and without
a version prefix (/api/26/gateways == /api/gateways).
"""

from http import HTTPStatus

from django.urls import re_path
from rest_framework.response import Response


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


def api_path(route: str, view, name: str | None = None):
    """A URL pattern under /api/ that also answers under /api/<version>/ (DHIS2 clients use both)."""
    return re_path(rf"^api/(?:\d+/)?{route}$", view, name=name)


def pager(*, page: int, page_size: int, total: int) -> dict:
    page_count = max(1, -(-total // page_size)) if page_size else 1
    return {"page": page, "pageCount": page_count, "total": total, "pageSize": page_size}
