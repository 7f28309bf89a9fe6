"""The routing process (`manage.py route_replies`) on Redis + PostgreSQL, as production runs it:
a reply is routed and its plugin called with no Celery worker running; SIGKILLed mid plugin call,
it loses nothing, and webhooks go back to publishing Celery routing tasks once it is gone.
Skipped without PostgreSQL/Redis (fails with SMSPORTAL_REQUIRE_SERVICES=1)."""

import contextlib
import signal
import sys

import pytest
import redis
from django.db import connection

from messaging.models import InboundMessage
from messaging.services.routing import ROUTER_ALIVE, ROUTER_WAKE
from plugins.models import PluginInvocation
from plugins.tasks import plugins_sweep_task
from tests.factories import PatientFactory
from tests.inbound.conftest import PHONE, PUBLIC
from tests.inbound.test_worker import plugin, twilio_reply
from tests.inbound.worker import LoggedProcess, database_url, point_app_at
from tests.polling import wait_until
from tests.redis_server import free_port, redis_server

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

ALIVE_SECONDS = 2


class RouterProcess(LoggedProcess):
    def __init__(self, broker_url: str):
        super().__init__(
            [sys.executable, "manage.py", "route_replies"],
            database_url=database_url(connection.settings_dict),
            broker_url=broker_url,
            extra_env={"SMSPORTAL_ROUTER_ALIVE_SECONDS": str(ALIVE_SECONDS), "SMSPORTAL_PUBLIC_BASE_URL": PUBLIC},
        )

    def wait_alive(self, client) -> None:
        def alive() -> bool:
            if self.process.poll() is not None:
                raise AssertionError(f"route_replies exited with {self.process.returncode}:\n{self.output()}")
            return client.get(ROUTER_ALIVE) == str(self.process.pid).encode()

        wait_until(alive, 60, "the routing process to say it is alive")


@contextlib.contextmanager
def publishing_to(settings, url: str):
    """This process publishes to Redis at `url` (no eager tasks, no Celery worker running)."""
    from smsportal.celery import app
    from smsportal.redis import _client

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.REDIS_URL = settings.CELERY_BROKER_URL = url
    settings.SMSPORTAL_PUBLIC_BASE_URL = PUBLIC
    settings.SMSPORTAL_ALLOW_PRIVATE_URLS = True
    settings.SMSPORTAL_ROUTER_ALIVE_SECONDS = ALIVE_SECONDS
    client = redis.Redis.from_url(url)
    client.flushdb()
    point_app_at(app, url)
    _client.cache_clear()
    try:
        yield client
    finally:
        with contextlib.suppress(redis.RedisError):  # no test after this one wakes a router that is gone
            client.delete(ROUTER_ALIVE, ROUTER_WAKE, "celery")
        point_app_at(app, None)
        _client.cache_clear()
        client.close()


@pytest.fixture
def broker(require_postgres, redis_url, settings):
    with publishing_to(settings, redis_url) as client:
        yield client


@pytest.fixture
def router(broker, redis_url):
    process = RouterProcess(redis_url)
    process.wait_alive(broker)
    yield process
    process.stop()


def test_a_reply_is_routed_and_its_plugin_called_by_the_routing_process_with_no_celery_worker(
    router, broker, organization, twilio, receiver, client
):
    patient = PatientFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url)

    assert twilio_reply(client, twilio, body="1").status_code == 200

    call = receiver.wait_for(1)[0]
    assert call.json["data"]["entity"]["_id"] == str(patient.id)
    message = InboundMessage.objects.get()
    assert (message.status, message.entity_id) == ("processed", patient.id)
    assert wait_until(lambda: PluginInvocation.objects.filter(status="succeeded").count(), 30, "the call recorded") == 1
    assert broker.llen("celery") == 0, "a Celery task was published though the routing process was awake"


def test_a_plugin_that_does_not_answer_does_not_hold_up_the_next_reply(
    router, broker, organization, twilio, receiver, client
):
    PatientFactory(organization=organization, phone=PHONE)
    PatientFactory(organization=organization, phone="+12025550124")
    plugin(organization, receiver.url, timeout_seconds=10)
    receiver.script = ["hang"]  # the first call hangs for its whole 10 s timeout

    assert twilio_reply(client, twilio, sid="SM1", body="1").status_code == 200
    receiver.wait_for(1)
    assert twilio_reply(client, twilio, sid="SM2", body="1", sender="+12025550124").status_code == 200

    # The second reply is routed and its plugin called while the first call still hangs.
    second = receiver.wait_for(2, timeout=8)[1]
    assert second.json["data"]["additionalData"]["metadata"]["originationNumber"] == "+12025550124"
    assert broker.llen("celery") == 0


def test_after_its_database_connection_is_cut_the_next_reply_is_still_routed_at_once(
    router, broker, organization, twilio, receiver, client
):
    # What a PostgreSQL restart does to a process waiting between replies: its connection is gone.
    PatientFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url)
    assert twilio_reply(client, twilio, sid="SM1", body="1").status_code == 200
    receiver.wait_for(1)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1

    assert twilio_reply(client, twilio, sid="SM2", body="1").status_code == 200

    # Routed by the process on a new connection, not left for the sweeper (no beat runs here).
    receiver.wait_for(2, timeout=20)
    assert set(InboundMessage.objects.values_list("status", flat=True)) == {"processed"}
    assert router.process.poll() is None


def test_killed_mid_plugin_call_the_call_is_made_again_and_replies_go_to_celery_once_it_is_gone(
    router, broker, organization, twilio, receiver, client, settings
):
    PatientFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url, timeout_seconds=1)
    receiver.script = ["hang"]  # the first call never answers: the process is killed during it

    assert twilio_reply(client, twilio, sid="SM1", body="1").status_code == 200
    first = receiver.wait_for(1)[0]
    router.process.send_signal(signal.SIGKILL)
    router.process.wait(timeout=10)

    # The reply was routed and committed before the call; the call is in doubt, not lost.
    assert InboundMessage.objects.get().status == "processed"
    invocation = PluginInvocation.objects.get()
    assert invocation.status == "running"

    # With the process gone (its key expired), a webhook publishes a Celery routing task again.
    wait_until(lambda: not broker.exists(ROUTER_ALIVE), 30, "the dead routing process's key to expire")
    assert twilio_reply(client, twilio, sid="SM2", body="hello", sender="+12025550999").status_code == 200
    assert broker.llen("celery") == 1

    # The plugins' sweep (beat) resets the call the dead process was making; it is made again,
    # with the same webhook-id, so a plugin that got the first attempt sees a duplicate.
    settings.SMSPORTAL_PLUGIN_SWEEP_GRACE_SECONDS = 0
    settings.CELERY_TASK_ALWAYS_EAGER = True
    from smsportal.celery import app

    point_app_at(app, None)
    wait_until(lambda: plugins_sweep_task()["reset"] or None, 30, "the sweep to reset the call in doubt")
    second = receiver.wait_for(2)[1]
    assert second.headers["webhook-id"] == first.headers["webhook-id"]
    invocation.refresh_from_db()
    assert (invocation.status, invocation.attempts) == ("succeeded", 2)
    assert PluginInvocation.objects.count() == 1


def test_redis_restarted_under_it_it_wakes_again_for_the_next_reply(
    require_postgres, settings, organization, twilio, receiver, client
):
    from smsportal.redis import get_redis

    PatientFactory(organization=organization, phone=PHONE)
    plugin(organization, receiver.url)
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    with redis_server(port) as server, publishing_to(settings, url) as broker:
        process = RouterProcess(url)
        try:
            process.wait_alive(broker)

            server.restart()  # no persistence: the alive key, flag and wake list are gone
            wait_until(lambda: get_redis().ping(), 10, "this process's Redis client to reconnect")
            process.wait_alive(broker)  # it reconnected and says so again

            assert twilio_reply(client, twilio, body="1").status_code == 200

            receiver.wait_for(1)
            assert InboundMessage.objects.get().status == "processed"
            assert broker.llen("celery") == 0  # woken, not a Celery task
        finally:
            process.stop()
