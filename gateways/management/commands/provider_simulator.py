"""`manage.py provider_simulator --port N`: run the provider stand-in (gateways/simulator/)."""

import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from gateways.simulator import PROVIDERS, ProviderSimulator


class Command(BaseCommand):
    help = (
        "Run a local HTTP stand-in for Clickatell, BulkSMS, Twilio, generic HTTP and AWS End User Messaging "
        "(SendTextMessage) providers: their wire formats, delivery reports, replies and injected errors. "
        "Control it at run time under /_sim/ (docs/gateways.md)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1", help="Address to listen on (default: %(default)s).")
        parser.add_argument("--port", type=int, default=8025, help="Port to listen on (default: %(default)s).")
        parser.add_argument("--delay", type=float, default=0.0, help="Answer every send this many seconds late.")
        parser.add_argument("--status", type=int, default=None, help="Answer every send with this HTTP status.")
        parser.add_argument("--error-code", default=None, help="Answer sends with this provider error code.")
        parser.add_argument(
            "--auto-report",
            default=None,
            metavar="STATUS",
            help="Post this delivery status (e.g. delivered) back after each accepted message. Twilio reports go "
            "to the StatusCallback each send carries; every other provider needs --status-url.",
        )
        parser.add_argument(
            "--status-url",
            action="append",
            default=[],
            metavar="PROVIDER=URL",
            help="Where to post delivery reports for a provider (" + ", ".join(PROVIDERS) + "); repeatable. "
            "Twilio uses the StatusCallback it was sent.",
        )
        parser.add_argument(
            "--bulksms-rendering",
            choices=["spec", "nested"],
            default="spec",
            help="Shape of BulkSMS webhook bodies (default: %(default)s).",
        )
        parser.add_argument("--no-record", action="store_true", help="Do not keep received requests (benchmarks).")

    def handle(self, *args, **options):
        status_urls = {}
        for item in options["status_url"]:
            provider, _, url = item.partition("=")
            if provider not in PROVIDERS or not url.startswith(("http://", "https://")):
                raise CommandError(
                    f"--status-url {item!r}: expected PROVIDER=URL with PROVIDER one of {', '.join(PROVIDERS)} "
                    "and an http(s) URL (the gateway's statusUrl)"
                )
            status_urls[provider] = url
        if options["auto_report"] and not status_urls:
            self.stderr.write(
                "--auto-report without --status-url: only Twilio sends will be reported (they carry their "
                "StatusCallback). For the others pass --status-url PROVIDER=<the gateway's statusUrl> or "
                'POST /_sim/config {"statusUrls": {...}}.'
            )
        sim = ProviderSimulator(
            options["host"],
            options["port"],
            record=not options["no_record"],
            bulksms_rendering=options["bulksms_rendering"],
        )
        if options["delay"] or options["status"] or options["error_code"]:
            sim.behave(delay=options["delay"], status=options["status"], error_code=options["error_code"])
        sim.status_urls.update(status_urls)
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
