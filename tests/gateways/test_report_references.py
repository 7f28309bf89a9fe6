"""Every provider's delivery report gives back our message id where the send carried it, so a
report resolves a message whose provider id was never recorded (docs/reliability.md)."""

import json

import pytest

from gateways.providers.bulksms import BulkSmsAdapter
from gateways.providers.clickatell import ClickatellAdapter
from gateways.providers.generic_http import GenericHttpAdapter
from gateways.providers.twilio import TwilioAdapter
from tests.gateways.conftest import build_gateway

OUR_ID = "0f8e2a4c-5b6d-4e7f-8a9b-0c1d2e3f4a5b"


def _json(rf, body):
    return rf.post("/s", data=json.dumps(body), content_type="application/json")


@pytest.mark.parametrize(
    ("adapter_class", "type_", "request_for", "reference"),
    [
        (
            TwilioAdapter,
            "twilio",
            lambda rf: rf.post(
                f"/s?ref={OUR_ID}",
                data="MessageSid=SM1&MessageStatus=delivered",
                content_type="application/x-www-form-urlencoded",
            ),
            OUR_ID,
        ),
        (
            ClickatellAdapter,
            "clickatell",
            lambda rf: _json(rf, {"messageId": "af75", "statusCode": 4, "clientMessageId": OUR_ID}),
            OUR_ID,
        ),
        (
            BulkSmsAdapter,
            "bulksms",
            lambda rf: _json(
                rf,
                [
                    {
                        "id": "1674",
                        "type": "SENT",
                        "userSuppliedId": OUR_ID.replace("-", "")[:20],
                        "status": {"type": "DELIVERED"},
                    }
                ],
            ),
            OUR_ID.replace("-", "")[:20],
        ),
        (
            GenericHttpAdapter,
            "http",
            lambda rf: _json(rf, {"id": "p-1", "status": "delivered", "reference": OUR_ID}),
            OUR_ID,
        ),
    ],
)
def test_a_report_carries_our_message_id(rf, adapter_class, type_, request_for, reference):
    [update] = adapter_class(build_gateway(type_)).parse_status(request_for(rf))

    assert update.reference == reference and update.status == "delivered"
