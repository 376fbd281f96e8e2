"""The loaded bundle held by each worker: warmed up, swapped atomically on reload, kept in step with the bundle link.

Following `artifacts/current` is what makes a reload (or a new `make train`) reach every worker process.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from movierec.artifacts import Bundle, load_bundle, recommender_from_bundle, resolve_bundle
from movierec.errors import BundleError
from movierec.recommender import Recommender

log = logging.getLogger("serving")
PATH_PATTERN = re.compile(r"(?:/[^\s/:'\"()]+)+/?")
MAX_REASON = 200


def public_reason(exc: Exception) -> str:
    """A short reason safe to show anyone: file-system paths cut to their last part (the log keeps them whole)."""
    text = PATH_PATTERN.sub(lambda m: Path(m.group(0)).name or "/", str(exc))
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


@dataclass(frozen=True)
class Loaded:
    """One bundle and its recommender; immutable, so a request keeps using the one it started with."""

    bundle: Bundle
    recommender: Recommender
    loaded_at: str


def load_and_warm(artifacts_dir: Path, threads: int = 1) -> Loaded:
    """Load through the core's load_bundle and serve one request of each kind, so no user request pays for a
    first call (ONNX Runtime allocates its buffers on the first run)."""
    start = time.perf_counter()
    bundle = load_bundle(artifacts_dir, threads=threads)
    recommender = recommender_from_bundle(bundle)
    first_user, first_movie = int(bundle.users["user_id"].iloc[0]), int(bundle.movies["movie_id"].iloc[0])
    for user in (
        recommender.contexts.known(first_user),
        recommender.contexts.known(first_user, live=[(first_movie, 5.0)]),
        recommender.contexts.new("F", 25, 12, [(first_movie, 5.0)]),
    ):
        for model in recommender.models:  # a peer builds its dense matrices on its first call
            recommender.recommend(user, 200, 10, model=model)
        recommender.score(user, bundle.movies["movie_id"].iloc[:3].to_numpy())
    log.info(
        "bundle %s loaded and warmed up in %.2fs (pid %d)", bundle.version, time.perf_counter() - start, os.getpid()
    )
    return Loaded(bundle, recommender, dt.datetime.now(dt.UTC).isoformat())


class ModelState:
    """Holds the current Loaded; reload() builds a new one off to the side and swaps the reference."""

    def __init__(self, artifacts_dir: Path, threads: int = 1):
        self.artifacts_dir = Path(artifacts_dir)
        self.threads = threads
        self.current: Loaded | None = None
        self.last_reload: dict | None = None
        self._reload_lock = threading.Lock()
        self._failed_target: Path | None = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def ready(self) -> bool:
        return self.current is not None

    def load(self) -> Loaded:
        self.current = load_and_warm(self.artifacts_dir, self.threads)
        return self.current

    def reload(self, wait: bool = False) -> dict:
        """Load the newest bundle; on failure keep serving the old one. Returns the outcome (safe to show).

        While another reload runs (the `current` watcher, another admin call) this returns `already_running`
        at once, or with `wait` waits for it: if it left the newest bundle served (or refused it) its outcome is
        the answer, otherwise this call loads again."""
        if not self._reload_lock.acquire(blocking=False):
            if not wait:
                return {"status": "already_running"}
            with self._reload_lock:
                target = self._target()
                if self.last_reload is not None and target is not None and target in self._settled_targets():
                    return self.last_reload
                return self._reload_locked()
        try:
            return self._reload_locked()
        finally:
            self._reload_lock.release()

    def _settled_targets(self) -> tuple[Path | None, ...]:
        return (self.current.bundle.path if self.current else None, self._failed_target)

    def _reload_locked(self) -> dict:
        started = dt.datetime.now(dt.UTC).isoformat()
        previous = self.current.bundle.version if self.current else None
        try:
            loaded = load_and_warm(self.artifacts_dir, self.threads)
        except Exception as exc:  # any failure: the old bundle keeps serving
            log.error("reload rejected, still serving %s: %s", previous, exc)
            self._failed_target = self._target()
            self.last_reload = {
                "status": "failed",
                "reason": public_reason(exc),
                "started_at": started,
                "serving": previous,
            }
            return self.last_reload
        self.current = loaded  # a single reference assignment: atomic for concurrent readers
        self._failed_target = None
        self.last_reload = {
            "status": "ok",
            "started_at": started,
            "previous": previous,
            "serving": loaded.bundle.version,
        }
        return self.last_reload

    # ---- following artifacts/current (how a reload reaches every worker process) ---------------------------
    def _target(self) -> Path | None:
        try:
            return resolve_bundle(self.artifacts_dir)
        except BundleError:
            return None

    def follow_once(self) -> dict | None:
        """Reload when `current` points at a bundle other than the one served (and not one that already failed)."""
        target = self._target()
        if target is None or self.current is None:
            return None
        if target in self._settled_targets():
            return None
        log.info("artifacts/current now points to %s: reloading", target.name)
        return self.reload()

    def start_following(self, interval: float) -> None:
        """Check `current` every `interval` seconds in a daemon thread (0 disables)."""
        if interval <= 0 or self._watcher is not None:
            return

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.follow_once()
                except Exception:  # the watcher must never die; reload() already logs its own failures
                    log.exception("following artifacts/current failed")

        self._watcher = threading.Thread(target=run, name="bundle-follower", daemon=True)
        self._watcher.start()

    def stop_following(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=5)
            self._watcher = None
