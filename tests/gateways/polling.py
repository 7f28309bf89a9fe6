"""The former polling helper, kept only for tests/faults/ until they call tests.polling.wait_until."""

from tests.polling import wait_until


def wait_for(condition, *, timeout: float = 10.0, interval: float = 0.02):
    return wait_until(condition, timeout, f"{getattr(condition, '__qualname__', condition)}", interval=interval)
