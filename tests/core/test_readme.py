"""README stays true to the code: the two commands first, every environment variable documented."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _settings_variables() -> set[str]:
    source = (ROOT / "smsportal" / "settings.py").read_text()
    return set(re.findall(r"""env(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]+)["']""", source))


def test_every_environment_variable_in_settings_is_in_the_configuration_table():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration") :]
    documented = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", table, flags=re.M))

    variables = _settings_variables()

    assert len(variables) > 20
    assert variables - documented == set(), "add these to README.md's configuration table"


def test_the_two_commands_come_first():
    readme = (ROOT / "README.md").read_text()

    assert readme.index("make run") < readme.index("## Production")
    assert readme.index("make test") < readme.index("## Production")
