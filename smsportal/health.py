"""GET /healthz for load balancers: 200 when the database and the broker answer, else 503."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse

from smsportal.celery import app
from smsportal.redis import get_redis


def healthz(request):
    checks = {"database": "ok", "broker": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001
        checks["database"] = "down"
    if settings.CELERY_TASK_ALWAYS_EAGER:
        checks["broker"] = "eager (no broker)"
    else:
        try:
            client = get_redis()
            if client is None:
                with app.connection_for_write() as conn:
                    conn.ensure_connection(max_retries=1, timeout=2)
            else:
                client.ping()
        except Exception:  # noqa: BLE001
            checks["broker"] = "down"
    healthy = all(v != "down" for v in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unhealthy", **checks}, status=200 if healthy else 503)
