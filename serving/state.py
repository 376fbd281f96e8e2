"""The loaded bundle held by the app, warmed up, and swapped atomically on reload."""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from movierec.artifacts import Bundle, load_bundle, recommender_from_bundle
from movierec.recommender import Recommender

log = logging.getLogger("serving")


@dataclass(frozen=True)
class Loaded:
    """One bundle and its recommender; immutable, so a request keeps using the one it started with."""

    bundle: Bundle
    recommender: Recommender
    loaded_at: str


def load_and_warm(artifacts_dir: Path) -> Loaded:
    """Load through the core's load_bundle and run one request of each kind so no first request pays for tracing."""
    start = time.perf_counter()
    bundle = load_bundle(artifacts_dir)
    recommender = recommender_from_bundle(bundle)
    first_user, first_movie = int(bundle.users["user_id"].iloc[0]), int(bundle.movies["movie_id"].iloc[0])
    for user in (recommender.known_user(first_user), recommender.new_user("F", 25, 12, [(first_movie, 5.0)])):
        recommender.recommend(user, 200, 10)
        recommender.score(user, bundle.movies["movie_id"].iloc[:3].to_numpy())
    log.info("bundle %s loaded and warmed up in %.2fs", bundle.version, time.perf_counter() - start)
    return Loaded(bundle, recommender, dt.datetime.now(dt.UTC).isoformat())


class ModelState:
    """Holds the current Loaded; reload() builds a new one off to the side and swaps the reference."""

    def __init__(self, artifacts_dir: Path):
        self.artifacts_dir = Path(artifacts_dir)
        self.current: Loaded | None = None
        self.last_reload: dict | None = None
        self._reload_lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self.current is not None

    def load(self) -> Loaded:
        self.current = load_and_warm(self.artifacts_dir)
        return self.current

    def reload(self) -> dict:
        """Load the newest bundle; on failure keep serving the old one. Returns the outcome."""
        if not self._reload_lock.acquire(blocking=False):
            return {"status": "already_running"}
        try:
            started = dt.datetime.now(dt.UTC).isoformat()
            previous = self.current.bundle.version if self.current else None
            try:
                loaded = load_and_warm(self.artifacts_dir)
            except Exception as exc:  # any failure: the old bundle keeps serving
                log.error("reload rejected, still serving %s: %s", previous, exc)
                self.last_reload = {"status": "failed", "error": str(exc), "started_at": started, "serving": previous}
                return self.last_reload
            self.current = loaded  # a single reference assignment: atomic for concurrent readers
            self.last_reload = {
                "status": "ok",
                "started_at": started,
                "previous": previous,
                "serving": loaded.bundle.version,
            }
            return self.last_reload
        finally:
            self._reload_lock.release()
