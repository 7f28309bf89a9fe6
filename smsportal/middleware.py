"""Edge middleware: 503 while the database is down, and hostile query strings refused.

Database outage: every API, webhook and page answers 503 with `Retry-After` (providers retry a
webhook on a 5xx, and a 503 tells them and clients to come back) instead of a 500. A pooled
connection the server closed meanwhile (a PostgreSQL restart) is noticed before the request uses
it and replaced, so the first request after a restart succeeds.
"""

import logging
import select
import sys

from django.db import DatabaseError, InterfaceError, OperationalError, connections
from django.http import HttpResponse, JsonResponse

from smsportal.http import API_PREFIXES
from smsportal.input_safety import HostileInput, check_pairs

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 10
DATABASE_UNAVAILABLE = "the database is unavailable; retry later"


def is_database_outage(exc: BaseException | None) -> bool:
    """The database could not be reached or the connection broke (not a bad query)."""
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    # psycopg raises these before Django wraps them when a pooled connection is found closed.
    cause = exc.__cause__ if isinstance(exc, DatabaseError) else None
    return cause is not None and type(cause).__name__ in ("OperationalError", "InterfaceError")


def database_unavailable(request) -> HttpResponse:
    if request.path.startswith(API_PREFIXES):
        response = JsonResponse({"error": DATABASE_UNAVAILABLE}, status=503)
    else:
        response = HttpResponse(DATABASE_UNAVAILABLE, status=503, content_type="text/plain")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def current_exception_is_outage() -> bool:
    return is_database_outage(sys.exc_info()[1])


def _readable(fd: int) -> bool:
    poller = select.poll()  # poll(), not select(): no limit on the descriptor's number
    poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    return bool(poller.poll(0))


def _drop_dead_connections() -> None:
    """Close pooled PostgreSQL connections the server has closed: an idle connection has nothing
    to read unless the server sent its goodbye (a restart's "terminating connection") or EOF.
    One poll() per request, no round trip."""
    for conn in connections.all(initialized_only=True):
        raw = conn.connection
        if raw is None or conn.vendor != "postgresql" or conn.in_atomic_block:
            continue
        try:
            dead = raw.closed or raw.broken or _readable(raw.pgconn.socket)
        except Exception:  # noqa: BLE001 — a socket we cannot poll is dead too
            dead = True
        if dead:
            logger.warning("pooled database connection closed by the server; reconnecting")
            try:
                conn.close()
            except Exception:  # noqa: BLE001 — closing a dead connection may fail; it is gone either way
                conn.connection = None


class DatabaseOutageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        _drop_dead_connections()
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_database_outage(exception):
            logger.error("database unavailable", extra={"error": type(exception).__name__})
            return database_unavailable(request)
        return None


class HostileQueryMiddleware:
    """A query string with a NUL character (or another value PostgreSQL refuses) is a 400 naming
    the parameter, on every path: list filters, admin search and DHIS2's query form alike."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            check_pairs(request.GET.lists(), kind="query")
        except HostileInput as exc:
            if request.path.startswith(API_PREFIXES):
                return JsonResponse({"error": str(exc), "code": "invalid_input", "field": exc.field}, status=400)
            return HttpResponse(str(exc), status=400, content_type="text/plain")
        return self.get_response(request)
