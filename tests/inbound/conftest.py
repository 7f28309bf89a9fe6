import pytest

from tests.factories import GatewayFactory
from tests.plugins.receiver import PluginReceiver

# The production-path tests' Twilio number, auth token and public URL (test_worker.py, test_router.py).
PHONE = "+12025550123"
OUR_NUMBER = "+12025550100"
AUTH_TOKEN = "twilio-auth-token"
PUBLIC = "https://sms.example.org"


@pytest.fixture
def receiver():
    r = PluginReceiver()
    yield r
    r.close()


@pytest.fixture(autouse=True)
def _plugin_settings(settings):
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    settings.SMSPORTAL_PLUGIN_RETRY_BASE_SECONDS = 0.01
    settings.SMSPORTAL_PLUGIN_RETRY_MAX_SECONDS = 0.05


@pytest.fixture
def twilio(organization, provider_simulator):
    # The organization sends through its default simulator gateway and receives on Twilio; what it
    # sends through Twilio (command replies) goes to the provider stand-in on 127.0.0.1.
    GatewayFactory(organization=organization, name="simulator")
    return GatewayFactory(
        organization=organization,
        name="twilio",
        type="twilio",
        is_default=False,
        config={"urlTemplate": provider_simulator.url, "accountSid": "AC" + "1" * 32, "from": OUR_NUMBER},
        secrets={"authToken": AUTH_TOKEN},
    )
