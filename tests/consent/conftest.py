import pytest

from entities.consent import consent_record
from tests.factories import ConsentProgramFactory
from tests.plugins.receiver import PluginReceiver


@pytest.fixture
def reminders(organization):
    """A program that requires consent, named by the keyword REMINDERS in replies."""
    return ConsentProgramFactory(
        organization=organization,
        slug="medication-reminders",
        name="Medication reminders",
        keyword="REMINDERS",
        require_consent=True,
        consent_text="Demo Org medication reminders by SMS, up to 3 a day. Reply STOP to end.",
    )


@pytest.fixture
def general(organization):
    return ConsentProgramFactory(organization=organization, slug="general", name="General", keyword="")


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


def opt_in(person, program, source="portal", **kw):
    return consent_record(
        organization=person.organization, person=person, program=program, status="opted_in", source=source, **kw
    )
