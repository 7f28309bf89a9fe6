import pytest

from tests.plugins.receiver import PluginReceiver


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
