"""deploy/ stays true: the example settings are a complete production configuration, and the
systemd units run what the Procfile runs (`make prod`)."""

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path

from cryptography.fernet import Fernet
from honcho.environ import parse, parse_procfile

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"


def test_the_example_settings_filled_in_pass_the_deploy_check_without_a_warning():
    example = parse((DEPLOY / "smsportal.env.example").read_text())
    assert not example.get("SECRET_KEY") and not example.get("SMSPORTAL_ENCRYPTION_KEY")  # nothing to forget
    example.update(
        SECRET_KEY="k3y-" + Fernet.generate_key().decode() * 2, SMSPORTAL_ENCRYPTION_KEY=Fernet.generate_key().decode()
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSPORTAL_", "SECURE_", "DJANGO_", "DATABASE_"))}
    env.update(example)

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "WARNINGS" not in output, output


def test_the_example_settings_left_empty_are_refused():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SMSPORTAL_", "SECURE_", "DJANGO_", "DATABASE_"))}
    env.update(parse((DEPLOY / "smsportal.env.example").read_text()))

    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0 and "SECRET_KEY" in result.stdout + result.stderr


def _unit(name: str) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read_string((DEPLOY / "systemd" / name).read_text())
    return unit


def test_each_unit_runs_the_procfile_command_of_its_process():
    procfile = parse_procfile((ROOT / "Procfile").read_text()).processes
    assert set(procfile) == {"web", "worker", "beat", "router"}
    assert set(_unit("smsportal.target")["Unit"]["Wants"].split()) == {f"smsportal-{p}.service" for p in procfile}
    for process, command in procfile.items():
        unit = _unit(f"smsportal-{process}.service")
        # The unit names the server's install (its virtualenv's bin/); the Procfile runs from the PATH.
        exec_start = re.sub(r"^\S*/\.venv/bin/", "", unit["Service"]["ExecStart"])
        expected = re.sub(r"\$\{(\w+):-[^}]*\}", r"${\1}", command.removeprefix("exec "))  # systemd: no defaults
        assert exec_start == expected, process
        assert unit["Service"]["EnvironmentFile"] == "/etc/smsportal/smsportal.env"
        assert unit["Install"]["WantedBy"] == "smsportal.target"


def test_the_web_unit_refuses_to_start_on_a_failed_deploy_check_and_migrates_first():
    with open(DEPLOY / "systemd" / "smsportal-web.service") as unit:
        pre = [line.split("=", 1)[1].strip() for line in unit if line.startswith("ExecStartPre=")]

    assert [command.split("manage.py ", 1)[1] for command in pre] == [
        "check --deploy --fail-level ERROR",
        "migrate --noinput",
        "collectstatic --noinput --verbosity 0",
    ]
