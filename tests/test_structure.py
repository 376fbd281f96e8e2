"""The shape of the tree: no import cycle, dependencies pointing one way, no dataset default outside its adapter."""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("movierec", "training", "serving", "ui", "tools")
# what each package may import of the others (ui reaches serving over HTTP only)
ALLOWED = {
    "movierec": set(),
    "training": {"movierec"},
    "serving": {"movierec"},
    "ui": set(),
    "tools": {"movierec", "training", "serving"},
}


def modules(root: Path, packages=PACKAGES) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, whether it is a package's __init__), for the packages under root."""
    found = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            parts = list(path.relative_to(root).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


def import_graph(root: Path = ROOT, packages=PACKAGES) -> dict[str, set[str]]:
    """Each module -> the modules of these packages it imports anywhere in its code, inside functions and
    `if TYPE_CHECKING:` blocks too (`from pkg import sub` names the module sub)."""
    known = modules(root, packages)

    def named(dotted: str) -> set[str]:
        parts = dotted.split(".")
        for end in range(len(parts), 0, -1):  # the longest prefix that is a module: `from m import f` imports m
            if ".".join(parts[:end]) in known:
                return {".".join(parts[:end])}
        return set()

    graph: dict[str, set[str]] = {}
    for name, (path, is_package) in known.items():
        package = name.split(".") if is_package else name.split(".")[:-1]
        edges: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    edges |= named(alias.name)
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(package[: len(package) - node.level + 1] + [node.module or ""]).strip(".")
                source = base if node.level else node.module or ""
                for alias in node.names:
                    edges |= named(f"{source}.{alias.name}")
        graph[name] = edges - {name}
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph (its modules, the first repeated at the end), or None."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as error:
        return error.args[1]
    return None


def test_the_graph_sees_relative_and_function_level_imports_and_their_cycles(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg import b\n    return b\n")
    (package / "b.py").write_text("from .a import f\n")
    graph = import_graph(tmp_path, ("pkg",))
    assert graph == {"pkg": set(), "pkg.a": {"pkg.b"}, "pkg.b": {"pkg.a"}}
    assert set(cycle(graph)) == {"pkg.a", "pkg.b"}
    assert cycle({"a": {"b"}, "b": set()}) is None
    assert "movierec.data.loader" in import_graph()["movierec.datasets.ml1m"]


def test_no_import_cycle_anywhere():
    assert cycle(import_graph()) is None


def test_dependencies_point_one_way():
    """training -> movierec <- serving; tools may use them all; movierec and ui use none of the others."""
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        for target in targets
        if (theirs := target.split(".")[0]) != (mine := module.split(".")[0]) and theirs not in ALLOWED[mine]
    )
    assert wrong == []


def defaults(path: Path) -> list[ast.expr]:
    """Every default value of every function and method in a file."""
    tree = ast.parse(path.read_text(), str(path))
    found: list[ast.expr] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            found += [d for d in node.args.defaults + node.args.kw_defaults if d is not None]
    return found


def test_defaults_finds_every_default_value(tmp_path):
    source = tmp_path / "m.py"
    source.write_text(
        "def f(a, d=ml1m.DESCRIPTION, *, e=1):\n    pass\n\nclass C:\n    async def g(self, x='ml-1m'): ...\n"
    )
    assert sorted(ast.unparse(d) for d in defaults(source)) == ["'ml-1m'", "1", "ml1m.DESCRIPTION"]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_dataset_default_outside_its_adapter(package):
    """A call that forgets the dataset must fail, not silently get MovieLens-1M."""
    adapters = ROOT / "movierec" / "datasets"
    offending = [
        f"{path.relative_to(ROOT)}: {ast.unparse(default)}"
        for path in (ROOT / package).rglob("*.py")
        if adapters not in path.parents
        for default in defaults(path)
        if "ml1m" in ast.unparse(default).lower() or "ml-1m" in ast.unparse(default).lower()
    ]
    assert offending == []
