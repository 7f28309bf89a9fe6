"""The one Redis debounce scheme: a short-lived flag every process sees.

A flag says "something is pending" (a dispatch or routing run that will read what was committed,
reports parked for a gateway) and expires by itself, so a crashed process never leaves it up for
long. `raise_once` sets it atomically unless it is up, in one round trip: the caller that raised
it does the work once (publishes the run); the others learn the value it holds (the run's start
time). The run clears the flag before it reads, so a later commit raises it again.
"""

# SET the flag unless it is up; else return what it holds (Lua: atomic, one round trip).
_SET_OR_GET = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return false end
return redis.call('GET', KEYS[1])
"""


class Flag:
    def __init__(self, key: str, seconds: int):
        self.key, self.seconds = key, seconds

    def raise_once(self, client, value: str = "1") -> bytes | None:
        """None when this call raised the flag; else the value it already held."""
        return client.eval(_SET_OR_GET, 1, self.key, value, self.seconds)

    def set(self, client, value: str = "1") -> None:
        client.set(self.key, value, ex=self.seconds)

    def is_up(self, client) -> bool:
        return bool(client.exists(self.key))

    def clear(self, client) -> None:
        client.delete(self.key)
