"""pyproject.toml, requirements.txt and constraints.txt name the same pinned versions; the serve extra stays lean."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[A-Za-z0-9,._-]+\])?==([^\s;#]+)$")  # name[extras]==version
NOT_IN_SERVE = {"tensorflow", "tensorflow-cpu", "keras", "scikit-learn", "joblib", "streamlit", "playwright", "ruff"}
# Installed by `python -m venv` / `make venv` itself, never pinned (pip freeze leaves them out too).
BOOTSTRAP = {"pip", "setuptools", "wheel", "movierec"}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path) -> dict[str, str]:
    pins: dict[str, str] = {}
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = PIN.match(line)
        assert match, f"{path.name}:{number}: expected 'name==version', got {raw!r}"
        name = normalize(match.group(1))
        assert name not in pins, f"{path.name}:{number}: {name} is listed twice"
        pins[name] = match.group(2)
    return pins


def pyproject_pins() -> dict[str, dict[str, str]]:
    """Each section (dependencies, every extra, every dependency group) as {name: version}; self-references skipped."""
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    sections = {"dependencies": data["project"].get("dependencies", [])}
    sections |= {f"extra {k}": v for k, v in data["project"].get("optional-dependencies", {}).items()}
    sections |= {f"group {k}": v for k, v in data.get("dependency-groups", {}).items()}
    result: dict[str, dict[str, str]] = {}
    for section, requirements in sections.items():
        result[section] = {}
        for requirement in requirements:
            if not isinstance(requirement, str) or normalize(requirement).startswith("movierec"):
                continue
            match = PIN.match(requirement)
            assert match, f"pyproject.toml [{section}]: pin exact versions ('name==version'), got {requirement!r}"
            result[section][normalize(match.group(1))] = match.group(2)
    return result


def test_pyproject_declares_the_serve_train_ui_extras_and_a_dev_group():
    sections = pyproject_pins()
    assert {"extra serve", "extra train", "extra ui", "group dev"} <= set(sections), sorted(sections)
    assert {"onnxruntime", "fastapi", "uvicorn"} <= set(sections["extra serve"])
    assert {"tensorflow-cpu", "keras", "tf2onnx"} <= set(sections["extra train"])
    assert "streamlit" in sections["extra ui"] and "pytest" in sections["group dev"]


def test_serve_extra_has_no_training_ui_or_dev_packages():
    serve = set(pyproject_pins()["dependencies"]) | set(pyproject_pins()["extra serve"])
    assert not serve & NOT_IN_SERVE, f"the serve install would pull in {sorted(serve & NOT_IN_SERVE)}"


def test_requirements_txt_is_exactly_everything_pyproject_declares():
    declared: dict[str, str] = {}
    for section, pins in pyproject_pins().items():
        for name, version in pins.items():
            assert declared.setdefault(name, version) == version, (
                f"{name}: {version} in [{section}], {declared[name]} elsewhere"
            )
    required = read_pins(ROOT / "requirements.txt")
    assert sorted(set(required) - set(declared)) == [], "in requirements.txt but not in pyproject.toml"
    assert sorted(set(declared) - set(required)) == [], "in pyproject.toml but not in requirements.txt"
    differ = {n: (required[n], declared[n]) for n in required if required[n] != declared[n]}
    assert differ == {}, "requirements.txt vs pyproject.toml versions"


def test_constraints_pin_every_requirement_at_the_same_version():
    constraints = read_pins(ROOT / "constraints.txt")
    required = read_pins(ROOT / "requirements.txt")
    missing = sorted(set(required) - set(constraints))
    assert missing == [], f"not pinned in constraints.txt (regenerate it, see its header): {missing}"
    differ = {n: (v, constraints[n]) for n, v in required.items() if constraints[n] != v}
    assert differ == {}, "requirements.txt vs constraints.txt versions"


def test_constraints_pin_every_installed_package():
    """What `make venv` installs is all pinned, so a fresh machine reproduces this environment exactly."""
    constraints = read_pins(ROOT / "constraints.txt")
    installed = {normalize(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    unpinned = {n: v for n, v in installed.items() if n not in BOOTSTRAP and constraints.get(n) != v}
    assert unpinned == {}, (
        "installed but not pinned (or pinned at another version) in constraints.txt; regenerate it with "
        ".venv/bin/pip freeze --exclude-editable | grep -v '^movierec' > constraints.txt"
    )


def test_the_package_ships_the_product_and_not_the_developer_tools():
    """What pyproject's packages.find puts into a wheel (the serve-only install included): never tools/."""
    from setuptools import find_namespace_packages

    find = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    shipped = set(find_namespace_packages(str(ROOT), include=find["include"], exclude=find.get("exclude", ())))
    assert {"movierec", "serving", "serving.routes"} <= shipped
    assert sorted(p for p in shipped if p.split(".")[0] in ("tools", "tests")) == []
