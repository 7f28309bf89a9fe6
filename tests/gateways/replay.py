"""A loopback HTTP stand-in that answers with captured provider payloads and records each request.

Unlike the provider simulator it knows no wire format: it replays exactly what a test gives it
(a documented answer from tests/payloads/), so an adapter is checked against the document.
"""

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

PAYLOADS = Path(__file__).resolve().parent.parent / "payloads"


def payload(name: str) -> bytes:
    """A captured payload file, e.g. `payload("twilio/send_response_201.json")`."""
    return (PAYLOADS / name).read_bytes().strip()


def payload_json(name: str):
    return json.loads(payload(name))


@dataclass
class Answer:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    hold: bool = False  # answer only after `release()`: the client's read timeout fires first


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode(), keep_blank_values=True)


class ReplayServer:
    """Serves `answer` to every request on 127.0.0.1 (an ephemeral port) and records the requests."""

    def __init__(self):
        self.answer = Answer(status=404)
        self.requests: list[Recorded] = []
        self._released = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_request(self):
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                server.requests.append(
                    Recorded(
                        self.command,
                        parts.path,
                        parse_qs(parts.query, keep_blank_values=True),
                        {k.lower(): v for k, v in self.headers.items()},
                        self.rfile.read(length),
                    )
                )
                answer = server.answer
                if answer.hold:
                    server._released.wait(timeout=10)  # bounded: a test that forgets to release ends
                try:
                    self.send_response(answer.status)
                    self.send_header("Content-Type", answer.content_type)
                    self.send_header("Content-Length", str(len(answer.body)))
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(answer.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a held answer: the client timed out and left, as the test intends

            do_GET = do_POST = do_PUT = do_request

            def log_message(self, *args):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def release(self) -> None:
        self._released.set()

    def __enter__(self) -> "ReplayServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)
