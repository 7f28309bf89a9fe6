"""Micro-benchmark of the E.164 parse behind every recipient: `to_e164` uncached (its lru_cache
bypassed), per number, over US bulk-send numbers and one example mobile of every region (Argentina's
go through the national-prefix rule). Prints the median and best of 7 passes in CPU µs per number.

    .venv/bin/python bench/phones.py        # run it in two checkouts to compare them
"""

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import phonenumbers  # noqa: E402

from smsportal import phones  # noqa: E402


def samples() -> dict[str, list[str]]:
    us = [f"+1{area}555{i:04d}" for area in ("202", "312", "415", "617") for i in range(2500)]
    world = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        if example is not None:
            world.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    return {"US bulk": us, "every region": world * 40}


def main() -> None:
    parse = phones._parse.__wrapped__  # the work itself, not the cache
    for name, numbers in samples().items():
        passes = []
        for _ in range(7):
            started = time.process_time()
            for number in numbers:
                parse(number, None, True)
            passes.append((time.process_time() - started) / len(numbers) * 1e6)
        passes.sort()
        print(f"{name:13} {passes[3]:.2f} µs per number (best {passes[0]:.2f}), {len(numbers)} numbers")


if __name__ == "__main__":
    main()
