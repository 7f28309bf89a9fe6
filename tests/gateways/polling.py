"""Poll a condition with a bounded deadline (tests never sleep to synchronise)."""

import time


def wait_for(condition, *, timeout: float = 10.0, interval: float = 0.02):
    """Return the first truthy value of `condition()`, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        time.sleep(interval)
