"""A local stand-in for the SMS providers, speaking their real wire formats over real HTTP.

`ProviderSimulator` serves every provider on one port; each provider's routes, replies and
delivery reports live in its module under `providers/` (Clickatell, BulkSMS, Twilio, generic
HTTP, AWS End User Messaging with SNS-signed events). It records every send, can be told to
answer slowly, with 429/5xx, with a provider error code or not at all (`faults.py`), and posts
delivery reports and replies back to smsportal in each provider's format.

Use it from tests (`with ProviderSimulator() as sim: sim.url`), from benchmarks, or from the
command line: `python manage.py provider_simulator --port 8025`, controlled over HTTP under
`/_sim/` (`control.py`). It never touches the database.
"""

from gateways.simulator.faults import Behaviour
from gateways.simulator.outbox import IncomingReply, NoStatusUrl, RecordedRequest, SentMessage
from gateways.simulator.providers import registered
from gateways.simulator.providers.aws_sns import SnsSigner
from gateways.simulator.providers.twilio import twilio_signature
from gateways.simulator.server import ProviderSimulator

PROVIDERS = tuple(registered())

__all__ = [
    "PROVIDERS",
    "Behaviour",
    "IncomingReply",
    "NoStatusUrl",
    "ProviderSimulator",
    "RecordedRequest",
    "SentMessage",
    "SnsSigner",
    "twilio_signature",
]
