"""A real Kannel on loopback for tests and benchmarks: bearerbox + smsbox, with Kannel's own
`fakesmsc` as the SMSC (Debian's `kannel` and `kannel-extras` packages).

`KannelBox(inbound_url=...)` writes a kannel.conf into a temporary directory, starts bearerbox and
smsbox on free loopback ports and waits (bounded) until smsbox's sendsms port answers;
`phone(...)` starts fakesmsc (one client at a time, as Kannel's fake SMSC accepts) optionally
sending patient replies (MO), and waits until bearerbox reports the SMSC online. Messages Kannel
delivers to fakesmsc are read from its output (`delivered()`). `stop()` ends every process it
started. Nothing here touches the database.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote_to_bytes

FAKESMSC_PATHS = ("/usr/lib/kannel/test/fakesmsc", "/usr/local/lib/kannel/test/fakesmsc")
USERNAME, PASSWORD, ADMIN_PASSWORD = "smsportal", "kannel-secret", "kannel-admin"
PING = "smsportal-ping"
# fakesmsc prints each MT it receives: "Got message N: <from to type text>".
_GOT = re.compile(r"Got message \d+: <(\S+) (\S+) (\S+) (.*)>")


def binaries() -> dict[str, str] | None:
    """Paths of bearerbox, smsbox and fakesmsc, or None when one is missing."""
    found = {
        "bearerbox": shutil.which("bearerbox") or shutil.which("bearerbox", path="/usr/sbin:/usr/local/sbin"),
        "smsbox": shutil.which("smsbox") or shutil.which("smsbox", path="/usr/sbin:/usr/local/sbin"),
        "fakesmsc": shutil.which("fakesmsc") or next((p for p in FAKESMSC_PATHS if os.access(p, os.X_OK)), None),
    }
    return found if all(found.values()) else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# How long a box may take to listen: seconds on an idle machine, but a CI machine running the suite
# beside other work once took over 15 s for the bearerbox.
START_SECONDS = 45


def _wait(condition, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return
        time.sleep(0.05)
    raise RuntimeError(f"Kannel: {what} not ready within {timeout} s")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


CONFIG = """\
group = core
admin-port = {admin_port}
admin-password = {admin_password}
admin-interface = 127.0.0.1
admin-allow-ip = "127.0.0.1"
smsbox-port = {smsbox_port}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "{dir}/bearerbox.log"
log-level = {log_level}
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = {smsc_port}
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox_port}
sendsms-port = {sendsms_port}
sendsms-interface = 127.0.0.1
log-file = "{dir}/smsbox.log"
log-level = {log_level}

group = sendsms-user
username = {username}
password = {password}
max-messages = 10

group = sms-service
keyword = {ping}
text = "ignored"
max-messages = 0

group = sms-service
keyword = default
catch-all = true
get-url = "{inbound_url}"
max-messages = 0
"""


class KannelBox:
    """bearerbox + smsbox (+ fakesmsc on demand) on free loopback ports."""

    def __init__(self, *, inbound_url: str = "http://127.0.0.1:9/", log_level: int = 1):
        found = binaries()
        if found is None:
            raise FileNotFoundError("bearerbox, smsbox or fakesmsc not found (Debian: kannel, kannel-extras)")
        self.bin = found
        self.dir = Path(tempfile.mkdtemp(prefix="smsportal-kannel-"))
        self.admin_port, self.smsbox_port = _free_port(), _free_port()
        self.smsc_port, self.sendsms_port = _free_port(), _free_port()
        # Kannel expands %p, %P, … in the get-url; the token and our field names are ours (docs/gateways.md).
        separator = "&" if "?" in inbound_url else "?"
        inbound = f"{inbound_url}{separator}from=%p&to=%P&text=%a&time=%t&ts=%T&smsc=%i&id=%I"
        self.config_path = self.dir / "kannel.conf"
        self.config_path.write_text(
            CONFIG.format(
                admin_port=self.admin_port,
                admin_password=ADMIN_PASSWORD,
                smsbox_port=self.smsbox_port,
                smsc_port=self.smsc_port,
                sendsms_port=self.sendsms_port,
                dir=self.dir,
                log_level=log_level,
                username=USERNAME,
                password=PASSWORD,
                inbound_url=inbound.replace('"', "%22"),
                ping=PING,
            )
        )
        self._procs: dict[str, subprocess.Popen] = {}
        self._phone_out: Path | None = None

    # -- lifecycle -------------------------------------------------------------------------

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.sendsms_port}/cgi-bin/sendsms"

    def _start(self, name: str, args: list[str]) -> subprocess.Popen:
        out = open(self.dir / f"{name}.out", "wb")  # noqa: SIM115 — closed with the process
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        self._procs[name] = proc
        return proc

    def start(self) -> "KannelBox":
        try:
            self._start("bearerbox", [self.bin["bearerbox"], str(self.config_path)])
            _wait(lambda: _port_open(self.smsbox_port) and _port_open(self.admin_port), START_SECONDS, "bearerbox")
            self.smsbox_start()
        except BaseException:
            self.stop()
            raise
        return self

    def smsbox_start(self) -> None:
        self._start("smsbox", [self.bin["smsbox"], str(self.config_path)])
        _wait(lambda: _port_open(self.sendsms_port), START_SECONDS, "smsbox")

    def smsbox_stop(self) -> None:
        """Stop smsbox only (Kannel "down" for senders; bearerbox keeps queued messages)."""
        self._end("smsbox")
        _wait(lambda: not _port_open(self.sendsms_port), 10, "smsbox shutdown")

    def phone(self, *replies: tuple[str, str, str], interval: float = 0.2) -> None:
        """(Re)start fakesmsc, sending each (sender, receiver, text) as a patient's reply (MO).

        fakesmsc needs at least one message to send: an idle phone sends one `smsportal-ping`,
        which its own sms-service swallows (never reaching smsportal), then waits a day.
        """
        self._end("fakesmsc")
        lines = [f"{sender} {receiver} text {text}" for sender, receiver, text in replies]
        count = len(lines)
        if not lines:
            lines, count = [f"+10000000000 +10000000001 text {PING}"], 0
        args = [self.bin["fakesmsc"], "-H", "127.0.0.1", "-r", str(self.smsc_port), "-i", str(interval)]
        # -m 0 would end fakesmsc at once; an idle phone sends its one ping only after a long interval.
        args += ["-m", str(max(count, 1))] if count else ["-m", "1", "-i", "86400"]
        self._phone_out = self.dir / "fakesmsc.out"
        self._start("fakesmsc", [*args, *lines])
        _wait(self.smsc_online, START_SECONDS, "fakesmsc connection")

    def smsc_online(self) -> bool:
        try:
            url = f"http://127.0.0.1:{self.admin_port}/status.txt?password={ADMIN_PASSWORD}"
            with urllib.request.urlopen(url, timeout=2) as response:
                status = response.read().decode(errors="replace")
        except OSError:
            return False
        return bool(re.search(r"fake\[fake\].*\(online", status))

    def delivered(self) -> list[dict[str, str]]:
        """The messages Kannel handed to the phone (fakesmsc), in order."""
        if self._phone_out is None or not self._phone_out.exists():
            return []
        found = []
        for line in self._phone_out.read_text(errors="replace").splitlines():
            match = _GOT.search(line)
            if match:
                sender, receiver, kind, text = match.groups()
                if kind == "ucs-2":  # fakesmsc prints UCS-2 URL-encoded (space = "+") UTF-16BE
                    text = unquote_to_bytes(text.replace("+", "%20")).decode("utf-16-be", errors="replace")
                found.append({"from": sender, "to": receiver, "type": kind, "text": text})
        return found

    def _end(self, name: str) -> None:
        proc = self._procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def stop(self) -> None:
        for name in ("fakesmsc", "smsbox", "bearerbox"):
            self._end(name)
        shutil.rmtree(self.dir, ignore_errors=True)

    def pids(self) -> list[int]:
        """The running boxes' process ids (benchmarks count their CPU)."""
        return [p.pid for p in self._procs.values() if p.poll() is None]

    def log_tail(self, lines: int = 30) -> str:
        """The end of each box's log, for a failing test's message."""
        out = []
        for name in ("bearerbox.log", "smsbox.log", "fakesmsc.out"):
            path = self.dir / name
            if path.exists():
                out.append(f"--- {name}\n" + "\n".join(path.read_text(errors="replace").splitlines()[-lines:]))
        return "\n".join(out)

    def __enter__(self) -> "KannelBox":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
