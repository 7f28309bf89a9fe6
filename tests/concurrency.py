"""Run one callable in several threads at once, the way concurrent requests or workers meet.

Every thread waits at one barrier, then calls `func(index)`; each closes its database
connections when done (threads get their own). A thread that raises or is still running after
`timeout` fails the test loudly, with what it raised.
"""

import threading
from collections.abc import Callable
from typing import Any


def run_concurrently(func: Callable[[int], Any], threads: int, *, timeout: float = 60.0) -> list[Any]:
    """`func(0)` … `func(threads - 1)` started together; their return values in index order."""
    from django.db import connections

    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * threads
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=timeout)
            results[index] = func(index)
        except BaseException as exc:  # noqa: BLE001 — surfaced in the test's thread below
            errors.append(exc)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=run, args=(i,), name=f"concurrent-{i}") for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=timeout)
    stuck = [w.name for w in workers if w.is_alive()]
    if stuck:
        raise AssertionError(f"threads still running after {timeout}s: {stuck}")
    if errors:
        raise AssertionError(f"{len(errors)} of {threads} threads raised: {errors!r}") from errors[0]
    return results
