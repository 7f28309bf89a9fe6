"""Python code run in a new process, whose settings are read from the environment it is given, as a
freshly started server's would be (module-level settings cannot be changed inside the test run)."""

import subprocess
import sys


def python_run(code: str, env: dict) -> subprocess.CompletedProcess:
    """Run `code` with `env` and smsportal's settings module; fails the test if it exits non-zero."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "DJANGO_SETTINGS_MODULE": "smsportal.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
