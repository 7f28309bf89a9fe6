"""A plugin stand-in: a real HTTP server on 127.0.0.1 (ephemeral port) that records each call."""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.polling import wait_until


@dataclass
class ReceivedCall:
    path: str
    headers: dict
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


@dataclass
class PluginReceiver:
    """Answers with the next code (or (code, headers)) of `script`, then `default`; "hang" never answers."""

    script: list = field(default_factory=list)
    default: int | str = 200
    calls: list[ReceivedCall] = field(default_factory=list)

    def __post_init__(self):
        self._lock = threading.Lock()
        self._release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.calls.append(ReceivedCall(self.path, dict(self.headers.items()), body))
                    answer = receiver.script.pop(0) if receiver.script else receiver.default
                if answer == "hang":
                    receiver._release.wait(30)
                    return
                code, headers = answer if isinstance(answer, tuple) else (answer, {})
                self.send_response(int(code))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/plugin"

    def wait_for(self, count: int, timeout: float = 60.0) -> list[ReceivedCall]:
        """The calls so far, once at least `count` arrived; fails after `timeout` seconds."""

        def arrived() -> list[ReceivedCall] | None:
            with self._lock:
                return list(self.calls) if len(self.calls) >= count else None

        return wait_until(arrived, timeout, f"{count} plugin call(s) at the receiver")

    def close(self):
        self._release.set()
        self.server.shutdown()
        self.server.server_close()
