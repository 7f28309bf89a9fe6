"""`manage.py route_replies`: the routing process (messaging/services/router.py)."""

import signal
import threading

from django.core.management.base import BaseCommand

from messaging.services.router import router_serve


class Command(BaseCommand):
    help = (
        "Route inbound replies as they arrive, woken over Redis, instead of one Celery task per routing run. "
        "Stops after the run in progress on SIGTERM or SIGINT."
    )

    def handle(self, *args, **options):
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write("routing replies as they arrive")
        self.stdout.flush()
        routed = router_serve(stop=stop)
        self.stdout.write(f"stopped after routing {routed} replies")
