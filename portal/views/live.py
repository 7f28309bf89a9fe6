"""Live updates: the organization's events as server-sent events; open pages refetch what changed."""

import json
import time

from django.db import connection
from django.http import StreamingHttpResponse
from django.views.decorators.http import require_GET

from messaging import live as live_events
from portal.views.shared import staff_view

LIVE_STREAM_SECONDS = 300  # the browser reconnects by itself; bounds a stream's lifetime


@staff_view
@require_GET
def live(request):
    """One stream per open page, closed after LIVE_STREAM_SECONDS (the browser reconnects)."""
    org_id = request.organization.pk

    def stream():
        # The stream never queries the database: give the connection back now instead of holding
        # it for the stream's lifetime (Django closes it only when the response finishes).
        connection.close()
        yield "retry: 1000\n\n"
        started = time.monotonic()
        events = live_events.subscribe(organization_id=org_id, timeout=10.0)
        try:
            for payload in events:
                if payload is None:
                    yield ": keep-alive\n\n"
                else:
                    try:
                        name = json.loads(payload).get("event", "message")
                    except ValueError:
                        continue
                    yield f"event: {name}\ndata: {payload}\n\n"
                if time.monotonic() - started > LIVE_STREAM_SECONDS:
                    return
        finally:
            events.close()

    response = StreamingHttpResponse(stream(), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
