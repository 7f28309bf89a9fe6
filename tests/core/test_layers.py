"""The dependency direction of docs/architecture.md, read from the code: no module imports a higher
layer, and no modules import each other in a circle (function-local imports included; only
`if TYPE_CHECKING:` blocks and AppConfig.ready(), which runs once every app is loaded, are exempt)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ["portal", "adherence", "plugins", "messaging", "gateways", "entities", "smsportal"]
OTHERS = ["mfa", "audit"]  # sign-in and audit trail beside the order: checked for circles only
# The project's wiring lives in smsportal/ but sits above every app (no app imports it).
WIRING = {"smsportal.urls", "smsportal.admin", "smsportal.overview"}


def _modules() -> dict[str, Path]:
    found = {}
    for package in LAYERS + OTHERS:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _exempt(node, parents) -> bool:
    for parent in parents:
        if isinstance(parent, ast.If) and "TYPE_CHECKING" in ast.unparse(parent.test):
            return True
        if isinstance(parent, ast.FunctionDef) and parent.name == "ready":
            return True
    return False


def _imports(path: Path, modules: dict) -> set[str]:
    tree = ast.parse(path.read_text())
    out: set[str] = set()

    def visit(node, parents):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        if names and not _exempt(node, parents):
            out.update(n for n in names if n in modules)
        for child in ast.iter_child_nodes(node):
            visit(child, [*parents, node])

    visit(tree, [])
    return out


def _rank(module: str) -> int | None:
    top = module.split(".")[0]
    if module in WIRING:
        return -1
    return LAYERS.index(top) if top in LAYERS else None


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    # A package's own __init__ is no edge: `from package import submodule` runs it first by design.
    return {
        name: {t for t in _imports(path, modules) if not f"{name}.".startswith(f"{t}.")}
        for name, path in modules.items()
    }


def test_no_module_imports_a_higher_layer():
    against = [
        f"{module} → {target}"
        for module, targets in _graph().items()
        for target in targets
        if None not in (_rank(target), _rank(module)) and _rank(target) < _rank(module)
    ]
    assert against == []


def test_no_import_circles():
    graph, circles, state = _graph(), [], {}

    def walk(module, stack):
        state[module] = "open"
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                circles.append(" → ".join([*stack[stack.index(target) :], target]))
            elif target not in state:
                walk(target, [*stack, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
    assert circles == []
