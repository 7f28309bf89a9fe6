"""`make run PORT=8800`: the login URL seed_demo prints follows PORT (migrate + seed_demo as make runs them)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_prints_the_login_url_for_its_port(tmp_path):
    plan = subprocess.run(
        ["make", "-n", "run", "PORT=8800"], cwd=ROOT, capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    steps = [line for line in plan if "manage.py migrate" in line or "manage.py seed_demo" in line]
    assert len(steps) == 2, plan
    env = {k: v for k, v in os.environ.items() if k not in ("SMSPORTAL_PUBLIC_BASE_URL", "DJANGO_SETTINGS_MODULE")}
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    out = ""
    for step in steps:
        done = subprocess.run(["sh", "-c", step], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        out = done.stdout

    login = next(line for line in out.splitlines() if line.startswith("Admin login"))
    assert "http://127.0.0.1:8800/admin/" in login
    assert ":8000" not in out
