"""`make run` and `make test` print what their commands print, not the long environment lines
that start them (the environment is still passed)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FAKE_PYTHON = """#!/bin/sh
echo "python $* DEBUG=$DEBUG BASE=$SMSPORTAL_PUBLIC_BASE_URL" >> "$(dirname "$0")/calls.log"
"""


@pytest.fixture
def venv(tmp_path):
    """A stand-in virtualenv whose python records its calls; its install stamps are up to date."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    python = bin_dir / "python"
    python.write_text(FAKE_PYTHON)
    python.chmod(0o755)
    (bin_dir / ".installed").touch()
    (bin_dir / ".installed-dev").touch()
    return tmp_path / "venv"


def _make(target: str, venv: Path) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SMSPORTAL_PUBLIC_BASE_URL", "MAKEFLAGS")}
    done = subprocess.run(
        ["make", "--no-print-directory", "-C", str(ROOT), target, f"VENV={venv}", "PORT=8199"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout + done.stderr


def test_make_run_does_not_echo_its_environment_lines(venv):
    out = _make("run", venv)

    assert "SMSPORTAL_ALLOW_PRIVATE_URLS" not in out and "manage.py" not in out
    calls = (venv / "bin" / "calls.log").read_text().splitlines()
    assert [c.split(" DEBUG=")[0] for c in calls] == [
        "python manage.py migrate --noinput",
        "python manage.py seed_demo",
        "python manage.py runserver 127.0.0.1:8199",
    ]
    assert all(c.endswith("DEBUG=1 BASE=http://127.0.0.1:8199") for c in calls)


def test_make_seed_prints_the_demo_again_without_serving(venv):
    _make("seed", venv)

    calls = (venv / "bin" / "calls.log").read_text().splitlines()
    assert [c.split(" DEBUG=")[0] for c in calls] == [
        "python manage.py migrate --noinput",
        "python manage.py seed_demo",
    ]
    assert all(c.endswith("DEBUG=1 BASE=http://127.0.0.1:8199") for c in calls)


def test_make_test_does_not_echo_its_command(venv):
    out = _make("test", venv)

    assert "pytest" not in out
    assert (venv / "bin" / "calls.log").read_text().startswith("python -m pytest")
