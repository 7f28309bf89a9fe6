"""The gateway seam: one adapter class per provider, chosen by Gateway.type."""

from gateways.providers.base import ProviderAdapter
from gateways.providers.bulksms import BulkSmsAdapter
from gateways.providers.cht_gateway import ChtGatewayAdapter
from gateways.providers.clickatell import ClickatellAdapter
from gateways.providers.generic_http import GenericHttpAdapter
from gateways.providers.simulator import SimulatorAdapter
from gateways.providers.sns import SnsAdapter
from gateways.providers.twilio import TwilioAdapter

ADAPTERS: dict[str, type[ProviderAdapter]] = {
    a.type: a
    for a in (
        SimulatorAdapter,
        ClickatellAdapter,
        BulkSmsAdapter,
        GenericHttpAdapter,
        TwilioAdapter,
        SnsAdapter,
        ChtGatewayAdapter,
    )
}


def get_adapter(gateway) -> ProviderAdapter:
    return ADAPTERS[gateway.type](gateway)
