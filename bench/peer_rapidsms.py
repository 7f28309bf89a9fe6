"""The framework peer, measured on this machine: RapidSMS 2.2.0's inbound path, replies included.

Issue #15 compares smsportal's replies end to end (bench/inbound.py) with RapidSMS answering the same
kind of message on the same machine in the same run. The peer here is RapidSMS as its documentation
sets it up: its generic HTTP backend view receives each message (`identity`, `text`), the blocking
router runs every app (messagelog stores the message and the reply in PostgreSQL; a KeywordHandler
answers keyword `1`), and the reply leaves synchronously over HTTP through RapidSMS's Kannel backend
(`GET /cgi-bin/sendsms`) to a local gateway stand-in, which counts it. gunicorn with 4 sync workers,
PostgreSQL with persistent connections, wrk posting over 16 connections, as bench/bare_drf.py.

RapidSMS 2.2.0 declares Django 4.2–5.1, so it gets a virtualenv of its own (bench/results/, created
on first use from PyPI). The figure is replies received by the stand-in per second, from the first
POST to the last reply, and the CPU each message cost (web workers and PostgreSQL).

    .venv/bin/python bench/peer_rapidsms.py [--messages 3000]
"""

import argparse
import json
import multiprocessing as mp
import os
import queue
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from loadgen import BackendCpu, cpu_of_tree, free_port, post_all

REPO = Path(__file__).resolve().parents[1]
VENV = REPO / "bench" / "results" / "rapidsms-venv"
PEER_REQUIREMENTS = ["RapidSMS==2.2.0", "Django==5.1.15", "psycopg[binary]==3.2.13", "gunicorn==23.0.0"]
DB_NAME = os.environ.get("BENCH_PEER_DB_NAME", "smsportal_bench_rapidsms")

SETTINGS = """
SECRET_KEY = "peer-" + "x" * 60
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "peer_urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
INSTALLED_APPS = [
    "django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions",
    "django.contrib.messages", "django_tables2", "selectable",
    "rapidsms", "rapidsms.backends.kannel", "rapidsms.contrib.handlers", "rapidsms.contrib.messagelog",
    "peer_app",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
              "OPTIONS": {"context_processors": ["django.template.context_processors.request"]}}]
DATABASES = {"default": {
    "ENGINE": "django.db.backends.postgresql", "NAME": "%(db)s", "USER": "postgres",
    "HOST": "127.0.0.1", "PORT": 5432, "CONN_MAX_AGE": 600,
}}
RAPIDSMS_ROUTER = "rapidsms.router.blocking.BlockingRouter"
RAPIDSMS_HANDLERS = ["peer_app.handlers.ConfirmHandler"]
INSTALLED_BACKENDS = {
    "http": {"ENGINE": "rapidsms.backends.kannel.outgoing.KannelBackend",
             "sendsms_url": "http://127.0.0.1:%(gateway_port)d/cgi-bin/sendsms",
             "sendsms_params": {"username": "peer", "password": "peer", "from": "+12025550100"}},
}
LOGGING = {"version": 1, "disable_existing_loggers": True}
"""

URLS = """
from django.urls import path
from rapidsms.backends.http.views import GenericHttpBackendView

urlpatterns = [path("backend/http/", GenericHttpBackendView.as_view(backend_name="http"))]
"""

HANDLER = """
from rapidsms.contrib.handlers import KeywordHandler


class ConfirmHandler(KeywordHandler):
    keyword = "1"

    def help(self):
        self.respond("Reply 1 when you have taken your dose.")

    def handle(self, text):
        self.respond("Thank you, your dose is recorded. " + text)
"""


def ensure_venv() -> Path:
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_REQUIREMENTS], check=True)
    return python


def _gateway_main(port: int, replies: mp.Queue, ready) -> None:
    """The SMS gateway RapidSMS replies through: answers Kannel's "0: Accepted for delivery" and
    reports each reply's token and arrival time. asyncio, so the stand-in takes little CPU."""
    import asyncio
    from urllib.parse import parse_qs, urlsplit

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                target = head.split(b" ", 2)[1].decode()
                text = parse_qs(urlsplit(target).query).get("text", [""])[0]
                replies.put((text.split()[-1], time.time()))
                body = b"0: Accepted for delivery"
                writer.write(b"HTTP/1.1 202 Accepted\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
        except (asyncio.IncompleteReadError, ConnectionError, IndexError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", port, backlog=512)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def _write_project(root: Path, gateway_port: int) -> None:
    (root / "peer_app").mkdir()
    (root / "peer_app" / "__init__.py").write_text("")
    (root / "peer_app" / "handlers.py").write_text(HANDLER)
    (root / "peer_settings.py").write_text(SETTINGS % {"db": DB_NAME, "gateway_port": gateway_port})
    (root / "peer_urls.py").write_text(URLS)


def measure(messages: int = 3000, workers: int = 4) -> dict:
    """Replies/s and CPU per message of the peer (needs PostgreSQL on 127.0.0.1:5432 and PyPI once)."""
    python = ensure_venv()
    gateway_port, web_port = free_port(), free_port()
    replies_q: mp.Queue = mp.Queue()
    ready = mp.Event()
    gateway = mp.Process(target=_gateway_main, args=(gateway_port, replies_q, ready), daemon=True)
    gateway.start()
    if not ready.wait(10):
        raise RuntimeError("the gateway stand-in did not start")
    with tempfile.TemporaryDirectory(prefix="peer_rapidsms_") as tmp:
        root = Path(tmp)
        _write_project(root, gateway_port)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "peer_settings", "PYTHONPATH": str(root)}
        env.pop("DATABASE_URL", None)
        for sql in (f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)", f"CREATE DATABASE {DB_NAME}"):
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True, capture_output=True)
        subprocess.run([str(python), "-m", "django", "migrate", "-v", "0"], cwd=root, env=env, check=True)
        server = subprocess.Popen(
            [str(python), "-m", "gunicorn", "django.core.wsgi:get_wsgi_application()", "-w", str(workers),
             "-b", f"127.0.0.1:{web_port}", "--log-level", "warning", "--backlog", "1024"],
            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            warm = [_request(f"+1303555{i:04d}", f"1 w{i}") for i in range(200)]
            post_all(web_port, warm, ready_path="/backend/http/?identity=%2B1&text=ping")
            _collect(replies_q, {f"w{i}" for i in range(200)}, timeout=60)
            tokens = [f"m{i}" for i in range(messages)]
            requests = [_request(f"+1202555{i % 10000:04d}", f"1 {tok}") for i, tok in enumerate(tokens)]
            web_before, backends = cpu_of_tree(server.pid), BackendCpu(DB_NAME).start()
            started = time.time()
            _, accepted = post_all(web_port, requests)
            arrivals = _collect(replies_q, set(tokens), timeout=600)
            cpu = cpu_of_tree(server.pid) - web_before + backends.stop()
        finally:
            server.terminate()
            server.wait(timeout=20)
            gateway.terminate()
    if len(arrivals) < messages:
        raise RuntimeError(f"the peer answered {len(arrivals)} of {messages} messages ({accepted} accepted)")
    seconds = max(arrivals.values()) - started
    return {
        "peer_replies_per_s": round(messages / seconds, 1),
        "peer_cpu_ms_per_reply": round(cpu * 1000 / messages, 2),
    }


def _request(identity: str, text: str) -> tuple[str, str, dict, bytes]:
    body = urlencode({"identity": identity, "text": text}).encode()
    return "POST", "/backend/http/", {"Content-Type": "application/x-www-form-urlencoded"}, body


def _collect(replies_q: mp.Queue, tokens: set[str], timeout: float) -> dict[str, float]:
    """Reply arrival times by token; fails loudly when the replies don't all come within timeout."""
    arrivals: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while not tokens <= arrivals.keys():
        left = deadline - time.monotonic()
        if left <= 0:
            raise RuntimeError(f"{len(tokens - arrivals.keys())} peer replies missing after {timeout:.0f} s")
        try:
            token, at = replies_q.get(timeout=min(left, 1.0))
        except queue.Empty:
            continue
        arrivals.setdefault(token, at)
    return arrivals


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=3000)
    figures = measure(parser.parse_args().messages)
    print(
        f"RapidSMS 2.2.0 inbound → handler → reply over HTTP: {figures['peer_replies_per_s']:,.0f} replies/s, "
        f"{figures['peer_cpu_ms_per_reply']:.1f} ms CPU per message (web + PostgreSQL)"
    )
    print(json.dumps(figures))
