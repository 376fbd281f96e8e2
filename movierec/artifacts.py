"""The bundle contract between training and serving: the only code that writes or reads artifacts/.

Layout: ARTIFACTS_DIR/<version>/ holds one complete bundle; ARTIFACTS_DIR/current is a symlink to the
newest one, swapped atomically after the bundle is fully written (a failed export leaves it untouched).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

from movierec.data.archive import file_digest
from movierec.errors import BundleError
from movierec.fsutil import atomic_directory
from movierec.models.final_score import FinalScorer

SCHEMA_VERSION = 1
CURRENT = "current"
MANIFEST = "manifest.json"
KEEP_BUNDLES = 3
MODEL_FILES = ("user_tower.keras", "movie_tower.keras", "retrieval_model.keras", "ranking_model.keras")
REQUIRED_FILES = (
    *MODEL_FILES,
    "movie_vectors.npy",
    "feature_space.joblib",
    "movies.parquet",
    "users.parquet",
    "train_ratings.parquet",
    "final_scorer.json",
    "metrics.json",
)
ROW_ORDER = "movie_vectors.npy row i is movies.parquet row i: the catalogue sorted by movie_id"


@dataclass
class Bundle:
    """A loaded bundle: models, fitted features, precomputed vectors, tables and the manifest."""

    path: Path
    manifest: dict
    space: object
    user_tower: object
    movie_tower: object
    ranking_model: object
    retrieval_model: object | None
    final_scorer: FinalScorer
    movie_vectors: np.ndarray
    movies: pd.DataFrame
    users: pd.DataFrame
    train_ratings: pd.DataFrame

    @property
    def metrics(self) -> dict:
        return self.manifest.get("metrics", {})

    @property
    def version(self) -> str:
        return self.manifest["version"]


def library_versions() -> dict:
    import keras
    import sklearn
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
    }


def save_bundle(
    root: Path,
    *,
    user_tower,
    movie_tower,
    retrieval_model,
    ranking_model,
    final_scorer: FinalScorer,
    movie_vectors: np.ndarray,
    space,
    movies: pd.DataFrame,
    users: pd.DataFrame,
    train_ratings: pd.DataFrame,
    config: dict,
    metrics: dict,
    data_sha256: str,
    timings: dict,
    extra_files: dict[str, bytes] | None = None,
) -> Path:
    """Write a complete bundle to a temporary folder, then move it into place and repoint `current`."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    created = dt.datetime.now(dt.UTC)
    version = created.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    final = root / version
    with atomic_directory(final) as staging:
        for name, model in zip(MODEL_FILES, (user_tower, movie_tower, retrieval_model, ranking_model), strict=True):
            model.save(staging / name)
        np.save(staging / "movie_vectors.npy", np.asarray(movie_vectors, dtype=np.float32))
        (staging / "final_scorer.json").write_text(json.dumps(final_scorer.to_dict(), indent=2))
        joblib.dump(space, staging / "feature_space.joblib")
        movies.to_parquet(staging / "movies.parquet", index=False)
        users.to_parquet(staging / "users.parquet", index=False)
        train_ratings.to_parquet(staging / "train_ratings.parquet", index=False)
        (staging / "metrics.json").write_text(json.dumps(metrics, indent=2))
        for name, content in (extra_files or {}).items():
            target = staging / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
        files = sorted(p for p in staging.rglob("*") if p.is_file())
        manifest = {
            "schema_version": SCHEMA_VERSION,
            "version": version,
            "created_at": created.isoformat(),
            "libraries": library_versions(),
            "data": {"archive_sha256": data_sha256},
            "row_order": ROW_ORDER,
            "config": config,
            "metrics": metrics,
            "timings_seconds": timings,
            "counts": {"movies": int(len(movies)), "users": int(len(users)), "train_ratings": int(len(train_ratings))},
            "files": {
                p.relative_to(staging).as_posix(): {"sha256": file_digest(p), "bytes": p.stat().st_size} for p in files
            },
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
    link = root / f".{CURRENT}-{uuid.uuid4().hex[:6]}"
    os.symlink(version, link)
    os.replace(link, root / CURRENT)
    _prune(root, keep=KEEP_BUNDLES)
    return final


def _prune(root: Path, keep: int) -> None:
    current = (root / CURRENT).resolve()
    bundles = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.is_symlink() and (p / MANIFEST).is_file()),
        key=lambda p: p.name,
    )
    for old in bundles[:-keep]:
        if old.resolve() != current:
            shutil.rmtree(old, ignore_errors=True)


def resolve_bundle(path: Path) -> Path:
    """A bundle folder: `path` itself if it holds a manifest, else what path/current points to."""
    path = Path(path)
    if (path / MANIFEST).is_file():
        return path.resolve()
    if (path / CURRENT).exists():
        return (path / CURRENT).resolve()
    raise BundleError(f"no bundle at {path}: expected {path / CURRENT} or {path / MANIFEST}; run `make train` first")


def read_manifest(path: Path) -> dict:
    folder = resolve_bundle(path)
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise BundleError(f"{folder / MANIFEST}: unreadable manifest ({exc})") from exc
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise BundleError(
            f"{folder / MANIFEST}: schema_version {manifest.get('schema_version')!r} is not supported "
            f"(this code reads {SCHEMA_VERSION}); retrain with `make train`"
        )
    return manifest


def verify_bundle(folder: Path, manifest: dict) -> None:
    """Every required file present and every listed file matching its manifest sha256."""
    files = manifest.get("files", {})
    for name in REQUIRED_FILES:
        if name not in files:
            raise BundleError(f"{folder}: manifest lists no {name}; the bundle is incomplete")
    for name, meta in files.items():
        path = folder / name
        if not path.is_file():
            raise BundleError(f"{path}: missing artifact file (listed in the manifest)")
        if path.stat().st_size != meta["bytes"]:
            raise BundleError(f"{path}: {path.stat().st_size} bytes, manifest says {meta['bytes']} (truncated?)")
        if file_digest(path) != meta["sha256"]:
            raise BundleError(f"{path}: sha256 does not match the manifest; the file is corrupt or was modified")


def load_bundle(path: Path, with_retrieval_model: bool = False) -> Bundle:
    """Verify checksums first (joblib/pickle is only opened after its checksum matched), then load."""
    import keras

    import movierec.models.layers  # noqa: F401  (registers custom layers)
    import movierec.models.retrieval  # noqa: F401  (registers RetrievalModel)

    folder = resolve_bundle(path)
    manifest = read_manifest(folder)
    verify_bundle(folder, manifest)
    try:
        models = {
            name: keras.saving.load_model(folder / name)
            for name in MODEL_FILES
            if with_retrieval_model or name != "retrieval_model.keras"
        }
        return Bundle(
            path=folder,
            manifest=manifest,
            space=joblib.load(folder / "feature_space.joblib"),
            user_tower=models["user_tower.keras"],
            movie_tower=models["movie_tower.keras"],
            ranking_model=models["ranking_model.keras"],
            retrieval_model=models.get("retrieval_model.keras"),
            final_scorer=FinalScorer(**json.loads((folder / "final_scorer.json").read_text())),
            movie_vectors=np.load(folder / "movie_vectors.npy", allow_pickle=False),
            movies=pd.read_parquet(folder / "movies.parquet"),
            users=pd.read_parquet(folder / "users.parquet"),
            train_ratings=pd.read_parquet(folder / "train_ratings.parquet"),
        )
    except BundleError:
        raise
    except Exception as exc:  # a file that passed its checksum but cannot be read by this code
        raise BundleError(f"{folder}: bundle could not be loaded ({exc.__class__.__name__}: {exc})") from exc


def recommender_from_bundle(bundle: Bundle):
    from movierec.recommender import Recommender

    return Recommender(
        bundle.space,
        bundle.user_tower,
        bundle.ranking_model,
        bundle.movie_vectors,
        bundle.movies,
        bundle.users,
        bundle.train_ratings,
        bundle.final_scorer,
    )
