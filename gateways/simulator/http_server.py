"""The simulator's HTTP/1.1 server: keep-alive and Content-Length bodies only, which is all that
provider clients (requests, boto) send. Asyncio keeps the per-message cost low enough for
bench/providers.py to measure the workers rather than the stand-in (docs/performance.md).
"""

import asyncio
import json
from http import HTTPStatus
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from requests.structures import CaseInsensitiveDict

_PHRASES = {s.value: s.phrase for s in HTTPStatus}


class Exchange:
    """One request and the answer a provider module or the control API gives it through `send`."""

    def __init__(self, method: str, target: str, headers: CaseInsensitiveDict, body: bytes):
        parts = urlsplit(target)
        self.method, self.headers, self.body = method, headers, body
        self.path, self.query = parts.path, parse_qs(parts.query, keep_blank_values=True)
        self.response: tuple[int, bytes, str, dict] = (500, b"", "text/plain", {})
        self.dropped = False  # accepted, but the answer never leaves (a fault mode)

    def send(self, status: int, payload: Any = None, *, content_type: str = "application/json", headers=None):
        if isinstance(payload, bytes | str):
            data = payload.encode() if isinstance(payload, str) else payload
        else:
            data = json.dumps(payload).encode() if payload is not None else b""
        self.response = (status, data, content_type, dict(headers or {}))


class ExchangeHandler(Protocol):
    """What the server needs from the simulator: which exchanges may block, and how to answer them."""

    def is_slow(self, exchange: Exchange) -> bool: ...

    def handle(self, exchange: Exchange) -> None: ...


async def serve_connection(handler: ExchangeHandler, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
    loop = asyncio.get_running_loop()
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            try:
                method, target, version = lines[0].split(" ", 2)
            except ValueError:
                return
            headers = CaseInsensitiveDict()
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip()] = value.strip()
            if headers.get("Transfer-Encoding", "").lower() == "chunked":
                writer.write(b"HTTP/1.1 411 Length Required\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                await writer.drain()
                return
            length = int(headers.get("Content-Length") or 0)
            body = await reader.readexactly(length) if length else b""
            exchange = Exchange(method, target, headers, body)
            if handler.is_slow(exchange):
                await loop.run_in_executor(None, handler.handle, exchange)
            else:
                handler.handle(exchange)
            if exchange.dropped:
                return  # the connection closes below without an answer
            close = headers.get("Connection", "").lower() == "close" or version == "HTTP/1.0"
            writer.write(_response_bytes(*exchange.response, close=close))
            await writer.drain()
            if close:
                return
    except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
        return  # client gone, or the simulator is stopping
    finally:
        writer.close()


def _response_bytes(status: int, data: bytes, content_type: str, extra: dict, *, close: bool) -> bytes:
    out = [
        f"HTTP/1.1 {status} {_PHRASES.get(status, 'Status')}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(data)}",
        "Server: provider-simulator/1.0",
    ]
    out += [f"{k}: {v}" for k, v in extra.items()]
    if close:
        out.append("Connection: close")
    return ("\r\n".join(out) + "\r\n\r\n").encode("latin-1") + data
