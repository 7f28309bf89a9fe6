"""Enqueueing on commit: one dispatch run per pending batch, and no row left unread.

The Redis flag holds the start time of the run that will next read the queue; a web thread that
has seen it sends later rows without a Redis call until shortly before that time.
"""

import threading

import pytest

from messaging.services import dispatch as outbound
from messaging.services.dispatch import DISPATCH_PENDING_KEY, ETA_MARGIN_SECONDS, dispatch_request


class Clock:
    def __init__(self):
        self.now = 1_000_000.0

    def time(self):
        return self.now


@pytest.fixture
def broker(settings, redis_url, monkeypatch):
    """Production mode against real Redis, publishes recorded instead of sent to a broker."""
    import redis

    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.REDIS_URL = redis_url
    settings.SMSPORTAL_DISPATCH_DELAY = 0.2
    client = redis.Redis.from_url(redis_url)
    client.delete(DISPATCH_PENDING_KEY)
    published = []
    monkeypatch.setattr(
        "messaging.tasks.outbound_dispatch_task.apply_async", lambda *a, **kw: published.append(kw["countdown"])
    )
    clock = Clock()
    monkeypatch.setattr(outbound, "time", clock)
    monkeypatch.setattr(outbound, "_known_read_after", threading.local())
    calls = []
    real_eval = outbound.get_redis().eval
    monkeypatch.setattr(outbound.get_redis(), "eval", lambda *a: calls.append(a) or real_eval(*a))
    yield client, published, clock, calls
    client.delete(DISPATCH_PENDING_KEY)


def test_one_run_is_published_and_rows_before_its_start_need_no_redis_call(broker):
    client, published, clock, calls = broker

    dispatch_request()
    clock.now += 0.2 - ETA_MARGIN_SECONDS - 0.01  # still before the run starts
    dispatch_request()

    assert published == [0.2] and len(calls) == 1
    assert float(client.get(DISPATCH_PENDING_KEY)) == pytest.approx(1_000_000.2)


def test_another_thread_finds_the_pending_run_and_does_not_publish_again(broker):
    client, published, clock, calls = broker
    dispatch_request()

    other = threading.Thread(target=dispatch_request)
    other.start()
    other.join()

    assert published == [0.2] and len(calls) == 2  # it asked Redis once, and learned the run's start


def test_after_the_run_cleared_the_flag_the_next_row_publishes_a_new_run(broker):
    client, published, clock, calls = broker
    dispatch_request()

    client.delete(DISPATCH_PENDING_KEY)  # the run starts: it clears the flag, then reads the queue
    clock.now += 0.2
    dispatch_request()

    assert published == [0.2, 0.2]


def test_close_to_the_runs_start_a_row_asks_redis_again(broker):
    client, published, clock, calls = broker
    dispatch_request()

    clock.now += 0.2 - ETA_MARGIN_SECONDS + 0.001  # the run may read before this commit: ask
    dispatch_request()

    assert len(calls) == 2 and published == [0.2]  # the flag is still set: that run has not read yet
