"""The gateway seam: one adapter class per provider, chosen by Gateway.type."""

from gateways.providers.africastalking import AfricasTalkingAdapter
from gateways.providers.android import AndroidAdapter
from gateways.providers.base import ProviderAdapter
from gateways.providers.bulksms import BulkSmsAdapter
from gateways.providers.clickatell import ClickatellAdapter
from gateways.providers.generic_http import GenericHttpAdapter
from gateways.providers.kannel import KannelAdapter
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
        KannelAdapter,
        AndroidAdapter,
        AfricasTalkingAdapter,
    )
}


def get_adapter(gateway) -> ProviderAdapter:
    return ADAPTERS[gateway.type](gateway)
