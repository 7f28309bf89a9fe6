"""The issue's yardstick, measured on this machine: a bare DRF endpoint inserting one row.

Issue #2 sets its single-send target (800/s) "on a 2-core machine where a bare DRF endpoint
inserting one row serves about 1,250 requests/s". Machines here differ by 2× from day to day, so
`bench/outbound.py` runs this too and prints single sends as a share of it (target 800 / 1,250 =
64 %). The project below is Django's default middleware, one model, one DRF view that validates
two fields and saves a row with the ORM; PostgreSQL with persistent connections (as smsportal);
gunicorn with 4 sync workers; wrk with 16 connections for 10 s.

    .venv/bin/python bench/bare_drf.py
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DB_NAME = os.environ.get("BENCH_BARE_DB_NAME", "smsportal_bench_bare")
BIN = Path(sys.executable).parent

SETTINGS = f"""
SECRET_KEY = "bench-" + "x" * 60
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "bare_urls"
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.contenttypes", "django.contrib.auth", "django.contrib.sessions",
    "django.contrib.messages", "rest_framework", "bare_app",
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
DATABASES = {{"default": {{
    "ENGINE": "django.db.backends.postgresql", "NAME": "{DB_NAME}", "USER": "postgres",
    "HOST": "127.0.0.1", "PORT": 5432, "CONN_MAX_AGE": 600,
}}}}
REST_FRAMEWORK = {{
    "DEFAULT_AUTHENTICATION_CLASSES": [], "DEFAULT_PERMISSION_CLASSES": [], "UNAUTHENTICATED_USER": None,
}}
"""

MODELS = """
from django.db import models


class Row(models.Model):
    phone = models.CharField(max_length=32)
    message = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)
"""

URLS = """
from django.urls import path
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from bare_app.models import Row


class SendSerializer(serializers.Serializer):
    phoneNumber = serializers.CharField(max_length=32)
    message = serializers.CharField()


class Send(APIView):
    def post(self, request):
        serializer = SendSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        row = Row.objects.create(
            phone=serializer.validated_data["phoneNumber"], message=serializer.validated_data["message"]
        )
        return Response({"messageId": row.pk})


urlpatterns = [path("send", Send.as_view())]
"""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"message":"Time for your 8am dose. Reply 1 when taken.","phoneNumber":"+12025550123"}'
"""


def _port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def measure(seconds: int = 10, workers: int = 4, connections: int = 16) -> float:
    """Requests/s of the bare endpoint (needs wrk and PostgreSQL on 127.0.0.1:5432)."""
    return measure_with_cpu(seconds, workers, connections)[0]


def measure_with_cpu(seconds: int = 10, workers: int = 4, connections: int = 16) -> tuple[float, float]:
    """Requests/s of the bare endpoint and its CPU ms per request (gunicorn tree + PostgreSQL)."""
    from loadgen import BackendCpu, cpu_of_tree

    with tempfile.TemporaryDirectory(prefix="bare_drf_") as tmp:
        root = Path(tmp)
        (root / "bare_app" / "migrations").mkdir(parents=True)
        (root / "bare_app" / "__init__.py").write_text("")
        (root / "bare_app" / "migrations" / "__init__.py").write_text("")
        (root / "bare_app" / "models.py").write_text(MODELS)
        (root / "bare_settings.py").write_text(SETTINGS)
        (root / "bare_urls.py").write_text(URLS)
        (root / "post.lua").write_text(WRK_SCRIPT)
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "bare_settings", "PYTHONPATH": str(root)}
        for sql in (f"DROP DATABASE IF EXISTS {DB_NAME}", f"CREATE DATABASE {DB_NAME}"):
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql], check=True, capture_output=True)
        django_admin = [str(BIN / "python"), "-m", "django"]
        subprocess.run([*django_admin, "makemigrations", "bare_app", "-v", "0"], cwd=root, env=env, check=True)
        subprocess.run([*django_admin, "migrate", "-v", "0"], cwd=root, env=env, check=True)
        port = _port()
        server = subprocess.Popen(
            [str(BIN / "python"), "-m", "gunicorn", "django.core.wsgi:get_wsgi_application()", "-w", str(workers),
             "-b", f"127.0.0.1:{port}", "--log-level", "warning"],
            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}/send"
            deadline = time.monotonic() + 30
            while subprocess.run(["wrk", "-t1", "-c1", "-d1s", url], capture_output=True).returncode != 0:
                if time.monotonic() > deadline:
                    raise RuntimeError("the bare DRF server did not start")
            wrk = ["wrk", "-t2", f"-c{connections}", "-s", str(root / "post.lua"), url]
            subprocess.run([*wrk[:3], "-d2s", *wrk[3:]], capture_output=True, check=True)  # warm every worker
            web_before, backends = cpu_of_tree(server.pid), BackendCpu(DB_NAME).start()
            out = subprocess.run([*wrk[:3], f"-d{seconds}s", *wrk[3:]], capture_output=True, text=True, check=True)
            cpu = cpu_of_tree(server.pid) - web_before + backends.stop()
        finally:
            server.terminate()
            server.wait(timeout=20)
        if "Non-2xx" in out.stdout:
            raise RuntimeError(f"the bare DRF endpoint answered errors:\n{out.stdout}")
        requests = int(out.stdout.split(" requests in ")[0].split()[-1])
        return float(out.stdout.split("Requests/sec:")[1].split()[0]), cpu * 1000 / max(1, requests)


if __name__ == "__main__":
    print(f"bare DRF endpoint inserting one row: {measure():,.0f} requests/s (the issue's machine: about 1,250)")
