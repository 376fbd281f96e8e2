"""Hot reload (token-protected, atomic, never failing a request) and refusal of corrupt bundles at start-up."""

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from movierec.artifacts import CURRENT
from serving.config import Settings
from serving.main import create_app
from serving.state import ModelState
from tests.helpers import resave_bundle
from tests.serving.conftest import TOKEN


def copy_root(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, symlinks=True)
    return dst


def resave(root: Path) -> str:
    return resave_bundle(root).name


@pytest.fixture(scope="module")
def reload_root(synthetic_bundle, tmp_path_factory):
    return copy_root(synthetic_bundle, tmp_path_factory.mktemp("reload") / "artifacts")


def test_reload_requires_token(reload_root):
    with TestClient(create_app(Settings(artifacts_dir=reload_root, admin_token=TOKEN))) as client:
        assert client.post("/admin/reload").status_code == 401
        assert client.post("/admin/reload", headers={"Authorization": "Bearer wrong"}).status_code == 401
    with TestClient(create_app(Settings(artifacts_dir=reload_root, admin_token=None))) as client:
        response = client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 404 and "ADMIN_TOKEN" in response.json()["detail"]


def test_reload_swaps_without_failing_requests(reload_root):
    auth = {"Authorization": f"Bearer {TOKEN}"}
    settings = Settings(artifacts_dir=reload_root, admin_token=TOKEN, reload_poll_seconds=0)  # only this call reloads
    with TestClient(create_app(settings)) as client:
        old = client.get("/").json()["bundle_version"]
        new = resave(reload_root)
        statuses, stop = [], threading.Event()

        def hammer():
            while not stop.is_set():
                statuses.append(client.post("/recommend", json={"user_id": 5, "top_n_final": 5}).status_code)

        threads = [threading.Thread(target=hammer) for _ in range(3)]
        for t in threads:
            t.start()
        outcome = client.post("/admin/reload?wait=true", headers=auth).json()
        stop.set()
        for t in threads:
            t.join()
        assert outcome["status"] == "ok" and outcome["previous"] == old and outcome["serving"] == new
        assert client.get("/").json()["bundle_version"] == new
        assert statuses and set(statuses) == {200}


class WatchedLock:
    """A lock that tells when someone starts waiting on it, so a test can order two reloads without sleeping."""

    def __init__(self):
        self.lock, self.waiting = threading.Lock(), threading.Event()

    def acquire(self, blocking: bool = True) -> bool:
        if blocking:
            self.waiting.set()
        return self.lock.acquire(blocking)

    def release(self) -> None:
        self.lock.release()

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


def test_waiting_reload_joins_the_one_already_running(reload_root, monkeypatch):
    import serving.state

    state = ModelState(reload_root)
    old = state.load().bundle.version
    new = resave(reload_root)
    loads, entered, go_on = [], threading.Event(), threading.Event()
    real_load = serving.state.load_and_warm

    def slow_load(*args, **kwargs):
        loads.append(1)
        entered.set()
        assert go_on.wait(60)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(serving.state, "load_and_warm", slow_load)
    state._reload_lock = WatchedLock()
    watcher = threading.Thread(target=state.follow_once)  # the `current` watcher notices the new bundle
    watcher.start()
    assert entered.wait(60)
    assert state.reload() == {"status": "already_running"}  # an admin call that does not wait
    waited: dict = {}
    admin = threading.Thread(target=lambda: waited.update(state.reload(wait=True)))
    admin.start()
    assert state._reload_lock.waiting.wait(60)
    go_on.set()
    admin.join(60)
    watcher.join(60)
    assert waited == {**waited, "status": "ok", "previous": old, "serving": new}
    assert len(loads) == 1  # the waiting call answered with the watcher's load instead of loading again
    assert state.current.bundle.version == new


def test_background_reload_returns_at_once(reload_root):
    with TestClient(create_app(Settings(artifacts_dir=reload_root, admin_token=TOKEN))) as client:
        body = client.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}).json()
        assert body["status"] == "started" and body["serving"]


def test_failed_reload_keeps_old_bundle(reload_root):
    with TestClient(create_app(Settings(artifacts_dir=reload_root, admin_token=TOKEN))) as client:
        serving = client.get("/").json()["bundle_version"]
        broken = resave(reload_root)
        (reload_root / broken / "movie_vectors.npy").write_bytes(b"garbage")
        outcome = client.post("/admin/reload?wait=true", headers={"Authorization": f"Bearer {TOKEN}"}).json()
        assert outcome["status"] == "failed" and "movie_vectors.npy" in outcome["reason"]
        public = client.get("/").json()["last_reload"]
        assert public["status"] == "failed" and "movie_vectors.npy" in public["reason"]
        assert str(reload_root) not in json.dumps(public) and "/" not in public["reason"]  # no file-system paths
        assert client.get("/").json()["bundle_version"] == serving
        assert client.post("/recommend", json={"user_id": 1}).status_code == 200
        os.replace(reload_root / CURRENT, reload_root / "broken-link")  # leave the fixture usable for others
        os.symlink(serving, reload_root / CURRENT)


def corrupt(root: Path, how: str) -> str:
    folder = (root / CURRENT).resolve()
    target = folder / "feature_space.npz"
    if how == "missing":
        target.unlink()
    elif how == "truncated":
        target.write_bytes(target.read_bytes()[:100])
    else:
        data = bytearray(target.read_bytes())
        data[-1] ^= 0xFF
        target.write_bytes(bytes(data))
    return target.name


@pytest.mark.parametrize("how", ["missing", "truncated", "modified"])
def test_corrupt_bundle_stops_startup_with_one_clear_line(synthetic_bundle, tmp_path, how):
    root = copy_root(synthetic_bundle, tmp_path / "artifacts")
    name = corrupt(root, how)
    env = {**os.environ, "ARTIFACTS_DIR": str(root), "PORT": "8765"}
    proc = subprocess.run([sys.executable, "-m", "serving"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if "ERROR" in line]
    assert len(errors) == 1 and name in errors[0] and "cannot start" in errors[0], proc.stderr


def test_lifespan_refuses_corrupt_bundle(synthetic_bundle, tmp_path):
    from movierec.errors import BundleError

    root = copy_root(synthetic_bundle, tmp_path / "artifacts")
    corrupt(root, "modified")
    with pytest.raises(BundleError, match="feature_space.npz"), TestClient(create_app(Settings(artifacts_dir=root))):
        pass


def test_missing_bundle_is_named(tmp_path):
    env = {**os.environ, "ARTIFACTS_DIR": str(tmp_path / "nothing")}
    proc = subprocess.run([sys.executable, "-m", "serving"], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1 and "make train" in proc.stderr
