"""Templates are looked up in top-level templates/ before any app's: a file there silently replaces
an installed app's template of the same path. These keep that replacement deliberate."""

from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.template.loader import get_template
from django.template.utils import get_app_template_dirs

TOP = Path(settings.BASE_DIR) / "templates"


def _files(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}


def _own_app(path: str) -> bool:
    resolved = Path(path).resolve()
    return resolved.is_relative_to(Path(settings.BASE_DIR).resolve()) and "site-packages" not in resolved.parts


def test_only_admin_overrides_replace_an_installed_apps_template():
    shadowed = set()
    for app_dir in get_app_template_dirs("templates"):
        shadowed |= _files(TOP) & _files(Path(app_dir))
    assert not {name for name in shadowed if not name.startswith("admin/")}


def test_the_projects_own_templates_live_only_in_top_level_templates():
    assert [a.label for a in apps.get_app_configs() if _own_app(a.path) and Path(a.path, "templates").exists()] == []
    assert {"portal/base.html", "mfa/verify.html", "admin/gateways/gateway/choose_type.html"} <= _files(TOP)
    assert Path(get_template("portal/today.html").origin.name).parent == TOP / "portal"
