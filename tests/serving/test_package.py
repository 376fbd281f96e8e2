"""The serving package's shape: routes call services (never each other), no heavy imports, no import side effects."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
SERVING = PROJECT / "serving"
# what a route module may import from the package (errors: the OpenAPI `responses` entries)
ROUTE_IMPORTS = {"serving.services", "serving.schemas", "serving.deps", "serving.errors"}
ASSEMBLES_ROUTES = "serving/main.py"  # the app factory includes every router


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (a function-level import counts): `from a import b` gives a.b
    where a.b is a module in this project, else a."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                is_module = (PROJECT / submodule.replace(".", "/")).with_suffix(".py").exists() or (
                    PROJECT / submodule.replace(".", "/")
                ).is_dir()
                found.add(submodule if is_module else node.module)
    return found


def serving_modules() -> list[Path]:
    return sorted(SERVING.rglob("*.py"))


@pytest.mark.parametrize("path", serving_modules(), ids=lambda p: str(p.relative_to(PROJECT)))
def test_no_module_but_the_app_factory_imports_a_route_module(path):
    relative = str(path.relative_to(PROJECT))
    routes = sorted(m for m in imported_modules(path) if m.startswith("serving.routes"))
    if relative == ASSEMBLES_ROUTES:
        assert routes, "the app factory should include the routers"
    else:
        assert routes == [], f"{relative} imports {routes}: share code through serving.services instead"


@pytest.mark.parametrize("path", sorted((SERVING / "routes").glob("*.py")), ids=lambda p: str(p.relative_to(PROJECT)))
def test_routes_import_only_services_schemas_deps_and_errors(path):
    own = {m for m in imported_modules(path) if m == "serving" or m.startswith("serving.")}
    assert own <= ROUTE_IMPORTS, f"{path.name} imports {sorted(own - ROUTE_IMPORTS)}"


def test_nothing_under_serving_imports_training_code_tensorflow_keras_or_tools():
    heavy = ("tensorflow", "keras", "tf2onnx", "training", "tools")
    offenders = {
        str(path.relative_to(PROJECT)): sorted(m for m in imported_modules(path) if m.split(".")[0] in heavy)
        for path in serving_modules()
    }
    assert {name: found for name, found in offenders.items() if found} == {}


def run_python(code: str, env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=PROJECT, env=env
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def without_thread_variables() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.endswith("_NUM_THREADS")}


def test_importing_serving_changes_no_environment_variable():
    code = (
        "import json, os\n"
        "before = dict(os.environ)\n"
        "import serving, serving.main, serving.__main__\n"
        "after = dict(os.environ)\n"
        "print(json.dumps({k: [before.get(k), after.get(k)] for k in set(before) | set(after) "
        "if before.get(k) != after.get(k)}))\n"
    )
    assert run_python(code, without_thread_variables()) == {}


def test_the_entry_point_pins_math_threads_before_anything_loads_numpy():
    from serving.threads import MATH_THREAD_VARIABLES

    code = (
        "import json, os, sys\n"
        "import serving.__main__ as entry\n"
        "loaded_early = sorted(m for m in ('numpy', 'onnxruntime', 'uvicorn') if m in sys.modules)\n"
        "try:\n"
        "    entry.main(['--workers', '0'])  # refused by the parser, after pinning\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps({{'early': loaded_early, 'env': {{v: os.environ.get(v) for v in {MATH_THREAD_VARIABLES!r}}}}}))\n"
    )
    env = {**without_thread_variables(), "OMP_NUM_THREADS": "3"}  # set by the user: kept
    result = run_python(code, env)
    assert result["early"] == []
    assert result["env"] == {
        variable: "3" if variable == "OMP_NUM_THREADS" else "1" for variable in MATH_THREAD_VARIABLES
    }
