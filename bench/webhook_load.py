"""The inbound benchmark's load and its plugin stand-in: Twilio-signed webhook requests posted by
client processes (or wrk), and a plugin endpoint in its own process that records each call's
arrival. Used by bench/inbound.py and bench/inbound_profile.py."""

import http.client
import json
import multiprocessing as mp
import queue
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
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


def signed_request(public_base: str, gateway_id: str, sid: str, sender: str, text: str) -> tuple[str, bytes, dict]:
    from twilio.request_validator import RequestValidator

    path = f"/webhooks/{gateway_id}/inbound"
    form = {"MessageSid": sid, "AccountSid": "AC1", "From": sender, "To": OUR_NUMBER, "Body": text, "NumMedia": "0"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{public_base}{path}", form)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature}
    return path, urlencode(form).encode(), headers


def post(port: int, request: tuple[str, bytes, dict]) -> int:
    path, body, headers = request
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _client_main(port: int, requests: list, threads: int, out: mp.Queue) -> None:
    with ThreadPoolExecutor(threads) as pool:
        statuses = list(pool.map(lambda r: post(port, r), requests))
    out.put(sum(1 for s in statuses if s == 200))


def blast(port: int, requests: list, processes: int = 2, threads: int = 8) -> tuple[float, int]:
    """Post every request as fast as the server takes them; returns (seconds, accepted).

    With wrk installed (`apt-get install wrk`), wrk posts them: a Python client takes a good part of
    the two cores from the server it measures (docs/performance.md). Else Python processes do."""
    if shutil.which("wrk"):
        return _wrk_blast(port, requests)
    out: mp.Queue = mp.Queue()
    chunks = [requests[i::processes] for i in range(processes)]
    procs = [mp.Process(target=_client_main, args=(port, c, threads, out)) for c in chunks]
    started = time.perf_counter()
    for p in procs:
        p.start()
    ok = sum(out.get(timeout=600) for _ in procs)
    for p in procs:
        p.join(timeout=60)
    return time.perf_counter() - started, ok


# Each wrk thread posts its own slice of the pre-signed requests, then (until it is stopped) repeats
# its last one: a provider's retry, stored once and processed once. A thread prints "done" when as
# many answers as its slice has came back. wrk calls request() once on its first thread to check
# the script: that call gets a GET /healthz, so no webhook is skipped.
WRK_SCRIPT = """
local count = 0
function setup(thread) count = count + 1; thread:set("tid", count) end
function init(args)
  local all = dofile(args[1])
  mine, sent, answered = {}, 0, 0
  if tid == 1 then table.insert(mine, wrk.format("GET", "/healthz")) end
  for i = tid, #all, tonumber(args[2]) do
    local r = all[i]
    table.insert(mine, wrk.format("POST", r[1], {["Content-Type"] = r[3], ["X-Twilio-Signature"] = r[4]}, r[2]))
  end
end
function request()
  sent = sent + 1
  return mine[math.min(sent, #mine)]
end
function response(status, headers, body)
  answered = answered + 1
  if answered == #mine - (tid == 1 and 1 or 0) then io.write("done\\n"); io.flush() end
end
"""


def _wrk_blast(port: int, requests: list, threads: int = 2, connections: int = 16) -> tuple[float, int]:
    results = REPO / "bench" / "results"
    results.mkdir(parents=True, exist_ok=True)
    table = results / "inbound_requests.lua"
    rows = (
        "{" + ", ".join(f"[==[{v}]==]" for v in (path, body.decode(), h["Content-Type"], h["X-Twilio-Signature"])) + "}"
        for path, body, h in requests
    )
    table.write_text("return {\n" + ",\n".join(rows) + "\n}\n")
    script = results / "inbound_post.lua"
    script.write_text(WRK_SCRIPT)
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", "600s", "-s", str(script)]
    command += [f"http://127.0.0.1:{port}", "--", str(table), str(threads)]
    started = time.perf_counter()
    wrk = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    finished = 0
    for line in wrk.stdout:  # bounded: wrk stops itself after 600 s
        if line.strip() == "done":
            finished += 1
            if finished == threads:
                break
    seconds = time.perf_counter() - started
    wrk.send_signal(signal.SIGINT)
    summary = wrk.communicate(timeout=30)[0]
    errors = int(summary.split("Non-2xx or 3xx responses:")[1].split()[0]) if "Non-2xx" in summary else 0
    return seconds, len(requests) - errors
