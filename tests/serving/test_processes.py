"""The server as processes: no TensorFlow or Keras in them, N workers, and a reload that reaches every worker."""

import contextlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.helpers import resave_bundle
from tests.serving.conftest import TOKEN
from tools.server import free_port, stop, wait_ready

PROJECT = Path(__file__).resolve().parents[2]
SERVE_AND_LIST_MODULES = """
import json, sys
from fastapi.testclient import TestClient
from serving.config import Settings
from serving.main import create_app

with TestClient(create_app(Settings(artifacts_dir=sys.argv[1]))) as client:
    status = client.post("/recommend", json={"user_id": 1, "top_n_final": 5}).status_code
    score = client.post("/score", json={"profile": {"gender": "F"}, "movie_ids": [1, 2]}).status_code
print(json.dumps({"status": [status, score], "modules": sorted(sys.modules)}))
"""


def get_json(port: int, path: str, method: str = "GET", headers: dict | None = None) -> tuple[int, dict]:
    """One request on a fresh connection (so successive calls can land on different worker processes)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"{}")
    finally:
        conn.close()


def test_serving_process_imports_neither_tensorflow_nor_keras(synthetic_bundle):
    proc = subprocess.run(
        [sys.executable, "-c", SERVE_AND_LIST_MODULES, str(synthetic_bundle)],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=PROJECT,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == [200, 200]
    heavy = [m for m in result["modules"] if m.split(".")[0] in ("tensorflow", "keras", "tf2onnx", "sklearn", "joblib")]
    assert heavy == []
    assert "onnxruntime" in result["modules"]  # the served models did run, through ONNX Runtime


@pytest.fixture()
def two_workers(synthetic_bundle, tmp_path):
    """`python -m serving --workers 2` on a copy of the bundle, following artifacts/current every 0.3 s."""
    root = shutil.copytree(synthetic_bundle, tmp_path / "artifacts", symlinks=True)
    port = free_port()
    env = {
        **os.environ,
        "ARTIFACTS_DIR": str(root),
        "ADMIN_TOKEN": TOKEN,
        "RELOAD_POLL_SECONDS": "0.3",
        "LOG_LEVEL": "warning",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "serving", "--port", str(port), "--workers", "2"],
        env=env,
        cwd=PROJECT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_ready(proc, f"http://127.0.0.1:{port}/health", 120, describe=lambda: proc.stderr.read().decode())
        yield root, port, proc
    finally:
        stop(proc, 30)


@contextlib.contextmanager
def kept_busy(port: int, clients: int = 4):
    """Keep-alive clients sending /recommend back to back: a worker busy with them is not waiting in accept(), so
    new connections reach the other worker (an idle kernel may hand every connection to the same process)."""
    stop = threading.Event()
    body = json.dumps({"user_id": 1}).encode()

    def hammer() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while not stop.is_set():
            conn.request("POST", "/recommend", body=body, headers={"Content-Type": "application/json"})
            conn.getresponse().read()
        conn.close()

    threads = [threading.Thread(target=hammer, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)


def versions_by_worker(port: int, seconds: float = 30) -> dict[int, str]:
    """Ask /health on fresh connections, while other clients keep the workers busy, until both answered."""
    seen = {}
    deadline = time.monotonic() + seconds
    with kept_busy(port):
        while len(seen) < 2 and time.monotonic() < deadline:
            status, body = get_json(port, "/health")
            if status == 200:
                seen[body["worker_pid"]] = body["bundle_version"]
    return seen


def test_two_workers_serve_and_a_reload_reaches_both(two_workers):
    root, port, proc = two_workers
    before = versions_by_worker(port)
    assert len(before) == 2, "requests should reach two distinct worker processes"
    assert all(pid != proc.pid for pid in before)
    new = resave_bundle(root).name
    auth = {"Authorization": f"Bearer {TOKEN}"}
    status, outcome = get_json(port, "/admin/reload?wait=true", "POST", auth)
    assert status == 200 and outcome["status"] in ("ok", "already_running"), outcome
    deadline = time.monotonic() + 30
    while True:
        after = versions_by_worker(port)
        if len(after) == 2 and set(after.values()) == {new}:
            break
        assert time.monotonic() < deadline, f"not every worker serves {new}: {after}"
        time.sleep(0.2)
    assert set(after) == set(before)  # the same processes, reloaded in place
    status, body = get_json(port, "/")
    assert status == 200 and body["bundle_version"] == new
