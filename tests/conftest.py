"""Fixtures most tests share, and the rule for tests that need real services.

A test that needs PostgreSQL or Redis skips with the reason when the service is absent, and
fails instead when SMSPORTAL_REQUIRE_SERVICES=1 (CI sets it).
"""

import os

import pytest
from rest_framework.test import APIClient

from entities.services import api_key_create
from gateways.providers.simulator import SimulatorAdapter
from smsportal.localcache import local_caches_clear
from tests.factories import GatewayFactory, OrganizationFactory

REQUIRE_SERVICES = os.environ.get("SMSPORTAL_REQUIRE_SERVICES") == "1"


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """SQLite tests use a file, as `make run` does, not Django's shared in-memory database: with
    the in-memory one the live server's thread and the test's thread share one connection, and a
    provider's callback arriving while the test thread writes fails at random ("cannot start a
    transaction within a transaction")."""
    import tempfile

    from django.conf import settings

    database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3":
        name = os.path.join(tempfile.gettempdir(), f"smsportal-test-{os.getpid()}.sqlite3")
        database.setdefault("TEST", {})["NAME"] = name


def service_unavailable(reason: str):
    """Skip, or fail when services are required."""
    if REQUIRE_SERVICES:
        pytest.fail(f"required service unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


def pytest_collection_modifyitems(items):
    """Every test using `require_postgres` carries the `postgres` marker, so `-m postgres` runs
    exactly the PostgreSQL-only branches (CI runs them with SMSPORTAL_REQUIRE_SERVICES=1)."""
    for item in items:
        if "require_postgres" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgres)


@pytest.fixture
def require_postgres(django_db_blocker):
    from django.db import connection

    if connection.vendor != "postgresql":
        service_unavailable("needs PostgreSQL: set DATABASE_URL=postgres://postgres@127.0.0.1:5432/smsportal")


@pytest.fixture
def redis_url():
    """A Redis URL that answers (REDIS_URL, else the local default)."""
    import redis

    url = os.environ.get("SMSPORTAL_TEST_REDIS_URL") or os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        service_unavailable(f"needs Redis at {url}: {exc}")
    return url


@pytest.fixture
def provider_simulator(settings):
    """The provider stand-in (gateways/simulator/) on an ephemeral loopback port.

    Gateways pointed at it need private URLs allowed, so this fixture allows them.
    """
    from gateways.simulator import ProviderSimulator

    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    with ProviderSimulator() as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def _clear_local_caches():
    # Tests roll back rows the caches may hold (and SQLite reuses ids): every test starts empty.
    local_caches_clear()
    yield
    local_caches_clear()


@pytest.fixture(autouse=True)
def _force_login_is_a_complete_sign_in(monkeypatch):
    """`Client.force_login` stands for a finished sign-in: password and, where one is required
    (superusers, organizations that require it), the second factor. Tests of the sign-in itself
    post to the login and two-factor pages (tests/security/)."""
    from django.test import Client

    force_login = Client.force_login

    def verified_force_login(client, user, backend=None):
        force_login(client, user, backend)
        verified_session(client, user)

    monkeypatch.setattr(Client, "force_login", verified_force_login)


def verified_session(client, user) -> None:
    """Mark the client's session as verified with a second factor (a device made for the purpose)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_static.models import StaticDevice

    device, _ = StaticDevice.objects.get_or_create(user=user, name="test sign-in")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


@pytest.fixture(autouse=True)
def _no_deferred_outbox_reads(monkeypatch):
    """Paths that read a batch of outbox rows load only the columns they use (delivery's
    DELIVERY_FIELDS, the message log's OUT_COLUMNS); reading another one is a query per message,
    which Django does silently. Here it fails the test instead, naming the column."""
    from messaging.models import OutboundMessage

    refresh = OutboundMessage.refresh_from_db

    def refuse_deferred(self, using=None, fields=None, from_queryset=None):
        if fields is not None and set(fields) <= self.get_deferred_fields():
            raise AssertionError(f"outbox column(s) {sorted(fields)} read one message at a time (deferred)")
        return refresh(self, using=using, fields=fields, from_queryset=from_queryset)

    monkeypatch.setattr(OutboundMessage, "refresh_from_db", refuse_deferred)


@pytest.fixture(autouse=True)
def _clear_simulator_outbox():
    SimulatorAdapter.outbox.clear()
    yield
    SimulatorAdapter.outbox.clear()


@pytest.fixture
def organization(db):
    return OrganizationFactory(name="Demo Org", slug="demo-org")


@pytest.fixture
def other_organization(db):
    return OrganizationFactory(name="Other Clinic", slug="other-clinic")


@pytest.fixture
def gateway(organization):
    return GatewayFactory(organization=organization, name="simulator")


@pytest.fixture
def api_key(organization):
    return api_key_create(organization=organization)[1]


@pytest.fixture
def api_client(api_key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return client


@pytest.fixture
def other_api_client(other_organization):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(organization=other_organization)[1]}")
    return client
