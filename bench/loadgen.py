"""Load and CPU accounting shared by the benchmarks that compare smsportal with a peer in one run.

`post_all` sends each prepared request exactly once over 16 kept-alive connections — with wrk when
it is installed (`apt-get install wrk`), since a Python client takes a good part of the two cores
from the server it measures — and returns (seconds, answered with 2xx). `cpu_of_tree` and
`postgres_backends_cpu` read CPU seconds from /proc, so a figure per item does not depend on how
busy the machine is.
"""

import http.client
import multiprocessing as mp
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

Request = tuple[str, str, dict, bytes]  # method, path, headers, body
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(port: int, path: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            if conn.getresponse().status < 500:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server on {port} did not answer {path}")


def post_all(port: int, requests: list[Request], ready_path: str | None = None) -> tuple[float, int]:
    if ready_path:
        wait_http(port, ready_path)
    if shutil.which("wrk"):
        return _wrk(port, requests)
    return _python_clients(port, requests)


# Each wrk thread sends its own slice once, then (until stopped) repeats its last request, and prints
# "done" when its slice has been answered. wrk calls request() once on thread 1 to check the script:
# that call gets an extra copy of the first request, answered and not counted.
WRK_SCRIPT = """
local count = 0
function setup(thread) count = count + 1; thread:set("tid", count) end
function init(args)
  local all = dofile(args[1])
  mine, sent, answered, ok = {}, 0, 0, 0
  if tid == 1 then local r = all[1]; table.insert(mine, wrk.format(r[1], r[2], r[4], r[3])) end
  for i = tid, #all, tonumber(args[2]) do
    local r = all[i]
    table.insert(mine, wrk.format(r[1], r[2], r[4], r[3]))
  end
end
function request()
  sent = sent + 1
  return mine[math.min(sent, #mine)]
end
function response(status, headers, body)
  answered = answered + 1
  if answered == #mine then io.write("done\\n"); io.flush() end
end
"""


def _lua_string(value: str) -> str:
    return f"[==[{value}]==]"


def _wrk(port: int, requests: list[Request], threads: int = 2, connections: int = 16) -> tuple[float, int]:
    with tempfile.TemporaryDirectory(prefix="loadgen_") as tmp:
        table = Path(tmp) / "requests.lua"
        rows = []
        for method, path, headers, body in requests:
            head = ", ".join(f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in headers.items())
            rows.append(f"{{{_lua_string(method)}, {_lua_string(path)}, {_lua_string(body.decode())}, {{{head}}}}}")
        table.write_text("return {\n" + ",\n".join(rows) + "\n}\n")
        script = Path(tmp) / "post.lua"
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
    if finished < threads:
        raise RuntimeError(f"wrk stopped before every request was answered:\n{summary}")
    errors = int(summary.split("Non-2xx or 3xx responses:")[1].split()[0]) if "Non-2xx" in summary else 0
    return seconds, len(requests) - errors


def _send(port: int, request: Request) -> int:
    method, path, headers, body = request
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def _client_main(port: int, requests: list[Request], threads: int, out: mp.Queue) -> None:
    with ThreadPoolExecutor(threads) as pool:
        statuses = list(pool.map(lambda r: _send(port, r), requests))
    out.put(sum(1 for s in statuses if 200 <= s < 300))


def _python_clients(port: int, requests: list[Request], processes: int = 2, threads: int = 8) -> tuple[float, int]:
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


def _cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _processes() -> dict[int, tuple[int, float]]:
    """pid → (parent pid, user + system CPU seconds so far) of every process."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / TICK)
    return found


def cpu_of_tree(pid: int) -> float:
    """CPU seconds so far of a process and all its descendants (gunicorn or Celery workers, Kannel's
    boxes)."""
    processes = _processes()
    tree, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [child for child, (ppid, _) in processes.items() if ppid == parent and child not in tree]
        tree.update(children)
        frontier.extend(children)
    return sum(processes[p][1] for p in tree if p in processes)


def _backend_pids(database: str) -> list[int]:
    out = subprocess.run(
        ["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atc",
         f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}'"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [int(p) for p in out.stdout.split()]


def postgres_backends_cpu(database: str) -> float:
    """CPU seconds so far of the PostgreSQL backends connected to one database (a backend that
    exits between two readings takes its CPU with it: see BackendCpu)."""
    return sum(_cpu(p) for p in _backend_pids(database))


class BackendCpu:
    """CPU seconds the PostgreSQL backends of one database used between start() and stop(), also
    of backends that connected or exited meanwhile (a Celery worker replaces its connection every
    CELERY_DB_REUSE_MAX tasks): each backend is read every `interval` s, and what it used since
    its first reading (or since it started, for a new one) is summed, up to its last reading."""

    def __init__(self, database: str, interval: float = 0.5):
        self.database, self.interval = database, interval
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _read(self, initial: bool = False) -> None:
        for pid in _backend_pids(self.database):
            cpu = _cpu(pid)
            if pid not in self.first:
                self.first[pid] = cpu if initial else 0.0
            self.last[pid] = max(cpu, self.last.get(pid, 0.0))

    def start(self) -> "BackendCpu":
        self._read(initial=True)

        def loop():
            while not self._stop.wait(self.interval):  # bounded by stop()
                self._read()

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> float:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)
        self._read()
        return sum(self.last[p] - self.first[p] for p in self.last)
