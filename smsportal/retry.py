"""Retry timing shared by provider sends and plugin calls: one backoff, one Retry-After reading."""

import random


def backoff(exponent: int, *, base: float, cap: float) -> float:
    """Exponential backoff with jitter: base·2^exponent, capped, scaled by 0.5–1.0 (clients retrying
    together spread out instead of arriving in step)."""
    return min(cap, base * 2 ** max(0, exponent)) * random.uniform(0.5, 1.0)  # noqa: S311 — timing, not secrecy


def retry_after_seconds(value: str | None, *, cap: float | None = None) -> float | None:
    """A Retry-After header in seconds (the delta form; an HTTP date, a negative or missing value: None)."""
    try:
        seconds = float(value) if value else None
    except ValueError:
        return None
    if seconds is None or seconds < 0:
        return None
    return seconds if cap is None else min(seconds, cap)
