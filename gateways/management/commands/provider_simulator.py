"""`manage.py provider_simulator --port N`: run the provider stand-in (gateways/simulator_server.py)."""

import signal
import threading

from django.core.management.base import BaseCommand

from gateways.simulator_server import ProviderSimulator


class Command(BaseCommand):
    help = (
        "Run a local HTTP stand-in for Clickatell, BulkSMS, Twilio and generic HTTP providers "
        "(wire formats, delivery reports, replies, injected errors). Control it under /_sim/."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8025)
        parser.add_argument("--delay", type=float, default=0.0, help="Answer every send this many seconds late.")
        parser.add_argument("--status", type=int, default=None, help="Answer every send with this HTTP status.")
        parser.add_argument("--error-code", default=None, help="Answer sends with this provider error code.")
        parser.add_argument(
            "--auto-report",
            default=None,
            metavar="STATUS",
            help="Post this delivery status (e.g. delivered) back after each accepted message.",
        )
        parser.add_argument(
            "--status-url",
            action="append",
            default=[],
            metavar="PROVIDER=URL",
            help="Where to post delivery reports for a provider (Twilio uses the StatusCallback it was sent).",
        )
        parser.add_argument("--bulksms-rendering", choices=["spec", "nested"], default="spec")
        parser.add_argument("--no-record", action="store_true", help="Do not keep received requests (benchmarks).")

    def handle(self, *args, **options):
        sim = ProviderSimulator(
            options["host"],
            options["port"],
            record=not options["no_record"],
            bulksms_rendering=options["bulksms_rendering"],
        )
        if options["delay"] or options["status"] or options["error_code"]:
            sim.behave(delay=options["delay"], status=options["status"], error_code=options["error_code"])
        for item in options["status_url"]:
            provider, _, url = item.partition("=")
            sim.status_urls[provider] = url
        sim.auto_report = options["auto_report"]
        sim.start()
        self.stdout.write(f"provider simulator listening on {sim.url} (control: {sim.url}/_sim/)")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            stop.wait()
        except KeyboardInterrupt:
            pass
        finally:
            sim.stop()
