"""A fresh virtualenv with only the `serve` extra installs, starts the API on a bundle and recommends, without TF."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

from movierec.artifacts import resolve_bundle
from tools.server import free_port, stop, wait_ready

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "movierec", "serving", "training", "ui")
# What a serving machine must not carry (the point of the extra): training, UI and developer tools.
NOT_IN_SERVE = ("tensorflow", "tensorflow-cpu", "keras", "scikit-learn", "joblib", "streamlit", "playwright", "ruff")
INSTALL_TIMEOUT_S = 600
START_TIMEOUT_S = 180


def run(cmd: list[str], timeout: float, cwd: Path) -> str:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, (
        f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    )
    return done.stdout


def http(method: str, url: str, body: dict | None = None) -> tuple[int, bytes]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.fixture(scope="module")
def serve_venv(tmp_path_factory) -> Path:
    """A virtualenv holding this project installed from a copy of its sources with only the serve extra."""
    work = tmp_path_factory.mktemp("serve-only")
    source = work / "src"
    source.mkdir()
    for name in SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(origin, source / name)
    venv = work / "venv"
    run([sys.executable, "-m", "venv", str(venv)], 300, work)
    python = venv / "bin" / "python"
    run(
        [str(python), "-m", "pip", "install", "--quiet", f"{source}[serve]", "-c", str(ROOT / "constraints.txt")],
        INSTALL_TIMEOUT_S,
        work,
    )
    return venv


def test_serve_extra_leaves_out_training_ui_and_dev_tools(serve_venv):
    code = (
        "import importlib.metadata as m, json, sys\n"
        "names = json.loads(sys.argv[1])\n"
        "print(json.dumps([n for n in names if any(True for _ in m.distributions(name=n))]))\n"
    )
    present = json.loads(run([str(serve_venv / "bin/python"), "-c", code, json.dumps(NOT_IN_SERVE)], 60, serve_venv))
    assert present == [], f"the serve extra pulled in {present}"
    for module in ("tensorflow", "keras"):
        found = run(
            [str(serve_venv / "bin/python"), "-c", f"import importlib.util as u; print(u.find_spec('{module}'))"],
            60,
            serve_venv,
        )
        assert found.strip() == "None", f"{module} is importable in the serve-only venv: {found}"


def test_serve_only_venv_serves_recommendations(serve_venv, synthetic_bundle, tmp_path):
    user_id = int(pd.read_parquet(resolve_bundle(synthetic_bundle) / "train_ratings.parquet")["user_id"].iloc[0])
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(ARTIFACTS_DIR=str(synthetic_bundle), PYTHONUNBUFFERED="1")
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        # cwd outside the repository: `serving` must come from the venv's site-packages, not from the checkout.
        server = subprocess.Popen(
            [str(serve_venv / "bin/python"), "-m", "serving", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(
                server,
                f"{base}/health",
                START_TIMEOUT_S,
                interval_s=0.5,
                describe=lambda: "server log:\n" + log_path.read_text()[-4000:],
            )
            status, body = http("POST", f"{base}/recommend", {"user_id": user_id})
            assert status == 200, body[:2000]
            recommendations = json.loads(body)["recommendations"]
            assert recommendations and all("movie_id" in r for r in recommendations)
            status, body = http("GET", f"{base}/docs")
            assert status == 200 and b"/static/docs/swagger-ui-bundle.js" in body
        finally:
            stop(server, 30)
    origin = run(
        [str(serve_venv / "bin/python"), "-c", "import serving, sys; print(serving.__file__)"], 60, tmp_path
    ).strip()
    assert origin.startswith(str(serve_venv)), f"serving was imported from {origin}, not the venv"
