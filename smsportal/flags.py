"""The one Redis debounce scheme: a short-lived flag every process sees.

A flag says "something is pending" (a dispatch or routing run that will read what was committed,
reports parked for a gateway) and expires by itself, so a crashed process never leaves it up for
long. `raise_once` sets it atomically unless it is up, in one round trip: the caller that raised
it does the work once (publishes the run); the others learn the value it holds (the run's start
time). The run clears the flag before it reads, so a later commit raises it again.

`raise_waking` does the same and, having raised it, wakes a consumer process blocked on a Redis
list, if one says it is alive — in that same round trip; the caller publishes a task otherwise.
"""

from enum import Enum

# SET the flag unless it is up; else return what it holds (Lua: atomic, one round trip).
_SET_OR_GET = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return false end
return redis.call('GET', KEYS[1])
"""

# As _SET_OR_GET; having raised it, push one wake-up for a consumer that is alive (KEYS[3] up).
# The list is trimmed and expires, so wake-ups for a consumer that died meanwhile never pile up.
_SET_AND_WAKE = """
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 0 end
if redis.call('EXISTS', KEYS[3]) == 0 then return 1 end
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], 0, 9)
redis.call('EXPIRE', KEYS[2], 60)
return 2
"""


class Raised(Enum):
    ALREADY = 0  # up already: the pending run will read what the caller committed
    NOBODY_AWAKE = 1  # raised, no consumer alive: the caller publishes the run
    WOKE = 2  # raised and a consumer woken


class Flag:
    def __init__(self, key: str, seconds: int):
        self.key, self.seconds = key, seconds

    def raise_once(self, client, value: str = "1") -> bytes | None:
        """None when this call raised the flag; else the value it already held."""
        return client.eval(_SET_OR_GET, 1, self.key, value, self.seconds)

    def raise_waking(self, client, *, wake_list: str, alive_key: str, value: str = "1") -> Raised:
        return Raised(client.eval(_SET_AND_WAKE, 3, self.key, wake_list, alive_key, value, self.seconds))

    def set(self, client, value: str = "1") -> None:
        client.set(self.key, value, ex=self.seconds)

    def is_up(self, client) -> bool:
        return bool(client.exists(self.key))

    def clear(self, client) -> None:
        client.delete(self.key)
