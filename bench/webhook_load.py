"""The inbound benchmark's requests and its plugin stand-in: Twilio-signed webhook requests (posted
by bench/loadgen.py), and a plugin endpoint in its own process that records each call's arrival.
Used by bench/inbound.py and bench/inbound_profile.py."""

import json
import multiprocessing as mp
import queue
import time
from pathlib import Path
from urllib.parse import urlencode

AUTH_TOKEN = "bench-twilio-token"
OUR_NUMBER = "+12025550100"
REPO = Path(__file__).resolve().parents[1]


# -- the plugin stand-in, in its own process ----------------------------------------------------


def _receiver_main(port: int, arrivals: mp.Queue, ready: mp.Event) -> None:
    """The plugin: answers 200 on kept-alive connections and reports each call's token and arrival
    time. asyncio, so that the stand-in for another machine takes little of the two cores."""
    import asyncio

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                body = await reader.readexactly(length)
                now = time.time()
                token = json.loads(body)["data"]["additionalData"]["metadata"]["messageBody"].split()[-1]
                arrivals.put((token, now))
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=512)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


class Arrivals:
    def __init__(self, q: mp.Queue):
        self.q = q
        self.times: dict[str, float] = {}

    def drain(self) -> int:
        while True:
            try:
                token, at = self.q.get_nowait()
            except queue.Empty:
                return len(self.times)
            self.times.setdefault(token, at)

    def wait_for(self, tokens: set[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.drain()
            if tokens <= self.times.keys():
                return True
            time.sleep(0.01)
        return False


# -- load -----------------------------------------------------------------------------------------


def signed_request(public_base: str, gateway_id: str, sid: str, sender: str, text: str) -> tuple:
    """One Twilio-signed webhook as bench/loadgen.py's (method, path, headers, body)."""
    from twilio.request_validator import RequestValidator

    path = f"/webhooks/{gateway_id}/inbound"
    form = {"MessageSid": sid, "AccountSid": "AC1", "From": sender, "To": OUR_NUMBER, "Body": text, "NumMedia": "0"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{public_base}{path}", form)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    return "POST", path, headers, urlencode(form).encode()
