"""The bundle contract between training and serving: the only code that writes or reads artifacts/.

Layout: ARTIFACTS_DIR/<version>/ holds one complete bundle; ARTIFACTS_DIR/current is a symlink to the
newest one, swapped atomically after the bundle is fully written (a failed export leaves it untouched).
Reading a bundle needs neither TensorFlow nor Keras: the served models are ONNX graphs, the fitted features are
plain arrays and JSON, the tables parquet; nothing in a bundle is unpickled. The .keras files are the training
artifacts, loaded only on request.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import functools
import json
import os
import platform
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from movierec.datasets.description import DatasetDescription
from movierec.errors import BundleError
from movierec.features.space import MOVIE_NUMERIC, USER_KEYS, USER_NUMERIC, FeatureSpace
from movierec.fsutil import atomic_directory, file_digest
from movierec.models.runtime import OnnxModel
from movierec.recommender import Recommender
from movierec.retrievers import RETRIEVERS
from movierec.retrievers.vector_index import Backend
from movierec.scoring import ScoringConfig, build_scorer
from movierec.scoring.learned import FEATURE_NAMES, FEATURES, formula_logits

SCHEMA_VERSION = 5  # 5: final_model.onnx, the learned final stage (movierec.scoring.learned)
OPTIONAL_USER_KEYS = {"example_age"}  # read by the sequence branch only: a bundle without one has no such input
CURRENT = "current"
MANIFEST = "manifest.json"
KEEP_BUNDLES = 3
EXPORT_LOCK = ".export.lock"
KERAS_FILES = {
    "user_tower": "user_tower.keras",
    "movie_tower": "movie_tower.keras",
    "retrieval_model": "retrieval_model.keras",
    "ranking_model": "ranking_model.keras",
    "final_model": "final_model.keras",
}
ONNX_FILES = {  # what serving runs
    "user_tower": "user_tower.onnx",
    "ranking_model": "ranking_model.onnx",
    "final_model": "final_model.onnx",
}
SPACE_ARRAYS, SPACE_META = "feature_space.npz", "feature_space.json"
SCORING = "scoring.json"  # ScoringConfig.to_dict(): the weights, temperature and like calibration of the score
PEERS_DIR = "peers"  # one <name>.npz per peer retriever (movierec.retrievers), listed in the manifest's "peers"
TABLE_COLUMNS = {
    "movies.parquet": ("movie_id", "title", "genres", "year"),
    "users.parquet": ("user_id", "gender", "age", "occupation"),
    "train_ratings.parquet": ("user_id", "movie_id", "rating", "timestamp"),
}
REQUIRED_FILES = (
    *KERAS_FILES.values(),
    *ONNX_FILES.values(),
    "movie_vectors.npy",
    SPACE_ARRAYS,
    SPACE_META,
    *TABLE_COLUMNS,
    SCORING,
    "metrics.json",
)
RANKER_INPUTS = ("user_vector", "movie_vector", "user_id", "movie_id", "user_numeric", "movie_numeric")
ROW_ORDER = "movie_vectors.npy row i is movies.parquet row i: the catalogue sorted by movie_id"


@dataclass
class Bundle:
    """A loaded bundle: the served models (ONNX Runtime), fitted features, precomputed vectors, tables, manifest."""

    path: Path
    manifest: dict
    space: FeatureSpace
    user_model: object  # movierec.models.runtime.OnnxModel
    ranking_model: object  # movierec.models.runtime.OnnxModel
    final_model: object  # movierec.models.runtime.OnnxModel: the learned final stage
    scoring: ScoringConfig
    movie_vectors: np.ndarray
    movies: pd.DataFrame
    users: pd.DataFrame
    train_ratings: pd.DataFrame
    keras_models: dict = field(default_factory=dict)  # name -> keras.Model, only with load_bundle(keras_models=True)
    peers: dict = field(default_factory=dict)  # name -> fitted movierec.retrievers.Retriever (the peers' methods)

    @property
    def metrics(self) -> dict:
        return self.manifest.get("metrics", {})

    @property
    def version(self) -> str:
        return self.manifest["version"]

    @property
    def final_stage_learned(self) -> bool:
        """Whether the learned final stage orders the candidates (the manifest's record of training; a bundle whose
        record says otherwise holds a final model with a zero residual, the formula, which serving need not run)."""
        record = self.manifest.get("config", {}).get("settings", {}).get("final_stage", {})
        return bool(record.get("kept", True)) if isinstance(record, dict) else True

    @functools.cached_property
    def description(self) -> DatasetDescription:
        """The dataset's DatasetDescription from the manifest."""
        try:
            return DatasetDescription.from_dict(self.manifest.get("dataset"))
        except ValueError as exc:
            raise BundleError(f"{self.path / MANIFEST}: {exc}") from exc

    def onnx_bytes(self) -> dict[str, bytes]:
        """The exported models as saved, keyed like ONNX_FILES (to write the same models into a new bundle)."""
        return {name: (self.path / file).read_bytes() for name, file in ONNX_FILES.items()}


def library_versions() -> dict:
    """Versions of what wrote the bundle (training side: imports Keras and TensorFlow)."""
    import keras
    import onnx
    import onnxruntime
    import sklearn
    import tensorflow as tf
    import tf2onnx

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "tf2onnx": tf2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
    }


@contextlib.contextmanager
def export_lock(root: Path) -> Iterator[None]:
    """One export at a time per artifacts folder (an exclusive lock file), so stale staging is safe to delete."""
    with open(root / EXPORT_LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def clean_stale_staging(root: Path) -> list[str]:
    """Delete what a killed export left behind (hidden staging folders and half-made links); call under the lock."""
    removed = []
    for entry in root.iterdir():
        stale_folder = entry.name.startswith(".") and "-staging-" in entry.name and not entry.is_symlink()
        stale_link = entry.name.startswith(f".{CURRENT}-") and entry.is_symlink()
        if stale_folder:
            shutil.rmtree(entry, ignore_errors=True)
        elif stale_link:
            entry.unlink(missing_ok=True)
        if stale_folder or stale_link:
            removed.append(entry.name)
    return removed


def save_bundle(
    root: Path,
    *,
    keras_models: dict,
    onnx_models: dict[str, bytes],
    scoring: ScoringConfig,
    movie_vectors: np.ndarray,
    space: FeatureSpace,
    movies: pd.DataFrame,
    users: pd.DataFrame,
    train_ratings: pd.DataFrame,
    config: dict,
    metrics: dict,
    data_sha256: str,
    timings: dict,
    description: DatasetDescription,
    extra_files: dict[str, bytes] | None = None,
    peers: dict | None = None,
) -> Path:
    """Write a complete bundle to a temporary folder, then move it into place and repoint `current`.

    keras_models: the trained models keyed like KERAS_FILES; onnx_models: their exported graphs keyed like ONNX_FILES
    (movierec.models.export.to_onnx), the same bytes the evaluation ran; peers: fitted retrievers by name, saved as
    plain arrays (Retriever.to_arrays) that serving rebuilds without refitting.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    missing = sorted(set(KERAS_FILES) - set(keras_models)) + sorted(set(ONNX_FILES) - set(onnx_models))
    if missing:
        raise BundleError(f"save_bundle: models missing: {missing}")
    created = dt.datetime.now(dt.UTC)
    version = created.strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
    final = root / version
    with export_lock(root):
        clean_stale_staging(root)
        with atomic_directory(final) as staging:
            for name, file in KERAS_FILES.items():
                keras_models[name].save(staging / file)
            for name, file in ONNX_FILES.items():
                (staging / file).write_bytes(onnx_models[name])
            np.save(staging / "movie_vectors.npy", np.asarray(movie_vectors, dtype=np.float32))
            (staging / SCORING).write_text(json.dumps(scoring.to_dict(), indent=2))
            arrays, meta = space.to_arrays()
            np.savez(staging / SPACE_ARRAYS, **arrays)
            (staging / SPACE_META).write_text(json.dumps(meta, indent=2))
            movies.to_parquet(staging / "movies.parquet", index=False)
            users.to_parquet(staging / "users.parquet", index=False)
            train_ratings.to_parquet(staging / "train_ratings.parquet", index=False)
            (staging / "metrics.json").write_text(json.dumps(metrics, indent=2))
            for name, retriever in (peers or {}).items():
                (staging / PEERS_DIR).mkdir(exist_ok=True)
                np.savez(staging / PEERS_DIR / f"{name}.npz", **retriever.to_arrays())
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
                "dataset": description.to_dict(),
                "row_order": ROW_ORDER,
                "served_models": dict(ONNX_FILES),
                "peers": sorted(peers or {}),
                "vocab_sizes": space.vocab_sizes,
                "vector_dim": int(np.asarray(movie_vectors).shape[1]),
                "config": config,
                "metrics": metrics,
                "timings_seconds": timings,
                "counts": {
                    "movies": int(len(movies)),
                    "users": int(len(users)),
                    "train_ratings": int(len(train_ratings)),
                },
                "files": {
                    p.relative_to(staging).as_posix(): {"sha256": file_digest(p), "bytes": p.stat().st_size}
                    for p in files
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
    """The manifest, checked for the fields this code relies on; BundleError with one line otherwise."""
    folder = resolve_bundle(path)
    where = folder / MANIFEST
    try:
        manifest = json.loads(where.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{where}: unreadable manifest ({exc})") from exc
    if not isinstance(manifest, dict):
        raise BundleError(f"{where}: the manifest must be a JSON object, found {type(manifest).__name__}")
    if manifest.get("schema_version") != SCHEMA_VERSION:
        raise BundleError(
            f"{where}: schema_version {manifest.get('schema_version')!r} is not supported "
            f"(this code reads {SCHEMA_VERSION}); retrain with `make train`"
        )
    for key, kind in (("version", str), ("created_at", str), ("files", dict), ("counts", dict), ("data", dict)):
        if not isinstance(manifest.get(key), kind):
            raise BundleError(f"{where}: field {key!r} missing or not a {kind.__name__}")
    for name, meta in manifest["files"].items():
        if not (
            isinstance(meta, dict)
            and isinstance(meta.get("sha256"), str)
            and isinstance(meta.get("bytes"), int)
            and not isinstance(meta.get("bytes"), bool)
        ):
            raise BundleError(f"{where}: entry {name!r} of 'files' needs a string 'sha256' and an integer 'bytes'")
        if Path(name).is_absolute() or ".." in Path(name).parts:
            raise BundleError(f"{where}: entry {name!r} of 'files' is not a path inside the bundle")
    return manifest


def verify_bundle(folder: Path, manifest: dict) -> None:
    """Every required file present and every listed file matching its manifest sha256."""
    files = manifest["files"]
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


def load_bundle(path: Path, keras_models: bool = False, threads: int = 1) -> Bundle:
    """Verify checksums, read every part without pickle, check the parts agree; optionally the Keras models too."""
    folder = resolve_bundle(path)
    manifest = read_manifest(folder)
    verify_bundle(folder, manifest)
    name = "?"
    try:
        name = SPACE_ARRAYS
        space = _read_space(folder)
        tables = {}
        for name, columns in TABLE_COLUMNS.items():
            tables[name] = pd.read_parquet(folder / name)
            absent = [c for c in columns if c not in tables[name].columns]
            if absent:
                raise BundleError(f"{folder / name}: columns {absent} missing")
        name = "movie_vectors.npy"
        vectors = np.load(folder / name, allow_pickle=False)
        name = SCORING
        scoring = _read_scoring(folder / name)
        models = {key: OnnxModel(folder / file, file, threads) for key, file in ONNX_FILES.items()}
        peers = {}
        for peer in _peer_names(folder, manifest):
            name = f"{PEERS_DIR}/{peer}.npz"
            peers[peer] = _read_peer(folder / name, peer, space)
    except BundleError:
        raise
    except Exception as exc:  # a file that passed its checksum but cannot be read by this code
        raise BundleError(f"{folder / name}: could not be read ({exc.__class__.__name__}: {exc})") from exc
    bundle = Bundle(
        path=folder,
        manifest=manifest,
        space=space,
        user_model=models["user_tower"],
        ranking_model=models["ranking_model"],
        final_model=models["final_model"],
        scoring=scoring,
        movie_vectors=vectors,
        movies=tables["movies.parquet"],
        users=tables["users.parquet"],
        train_ratings=tables["train_ratings.parquet"],
        peers=peers,
    )
    check_consistency(bundle)
    if keras_models:
        bundle.keras_models = _read_keras(folder)
    return bundle


def _read_space(folder: Path) -> FeatureSpace:
    meta = json.loads((folder / SPACE_META).read_text())
    if not isinstance(meta, dict):
        raise BundleError(f"{folder / SPACE_META}: must be a JSON object, found {type(meta).__name__}")
    with np.load(folder / SPACE_ARRAYS, allow_pickle=False) as arrays:
        loaded = {key: arrays[key] for key in arrays.files}
    try:
        return FeatureSpace.from_arrays(loaded, meta)
    except KeyError as exc:
        raise BundleError(f"{folder / SPACE_ARRAYS}: {exc.args[0]!r} missing from the feature space") from exc
    except ValueError as exc:
        raise BundleError(f"{folder / SPACE_ARRAYS}: {exc}") from exc


def _peer_names(folder: Path, manifest: dict) -> list[str]:
    """The manifest's peer retrievers (none in bundles written before peers were saved), each a known method whose
    file the manifest lists."""
    names = manifest.get("peers", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise BundleError(f"{folder / MANIFEST}: 'peers' must be a list of distinct method names")
    for name in names:
        if name not in RETRIEVERS:
            raise BundleError(f"{folder / MANIFEST}: unknown peer method {name!r}; known: {', '.join(RETRIEVERS)}")
        if f"{PEERS_DIR}/{name}.npz" not in manifest["files"]:
            raise BundleError(f"{folder / MANIFEST}: peer {name!r} has no {PEERS_DIR}/{name}.npz in 'files'")
    return names


def _read_peer(path: Path, name: str, space: FeatureSpace):
    """A fitted retriever from its plain arrays (no pickle), checked against the bundle's catalogue."""
    with np.load(path, allow_pickle=False) as arrays:
        loaded = {key: arrays[key] for key in arrays.files}
    try:
        return RETRIEVERS[name].from_arrays(loaded, space)
    except ValueError as exc:
        raise BundleError(f"{path}: {exc}") from exc


def _read_scoring(path: Path) -> ScoringConfig:
    try:
        return ScoringConfig.from_dict(json.loads(path.read_text()))
    except (json.JSONDecodeError, TypeError, ValueError) as exc:
        raise BundleError(f"{path}: {exc}") from exc


def _read_keras(folder: Path) -> dict:
    import keras

    import movierec.models.layers  # noqa: F401  (registers custom layers)
    import movierec.models.retrieval  # noqa: F401  (registers RetrievalModel)
    import movierec.models.sequence  # noqa: F401  (registers the sequence branch's layers)

    models = {}
    for key, file in KERAS_FILES.items():
        try:
            models[key] = keras.saving.load_model(folder / file)
        except Exception as exc:
            raise BundleError(f"{folder / file}: could not be loaded ({exc.__class__.__name__}: {exc})") from exc
    return models


def check_consistency(bundle: Bundle) -> None:
    """Shapes and sizes agree across files; BundleError naming the file and what disagrees (checksums cannot see
    parts that are each intact but do not fit together)."""
    folder, space, manifest = bundle.path, bundle.space, bundle.manifest
    vectors, movies, users = bundle.movie_vectors, bundle.movies, bundle.users
    user_model, ranker = bundle.user_model, bundle.ranking_model

    def refuse(file: str, message: str) -> None:
        raise BundleError(f"{folder / file}: {message}")

    n_catalog, n_users = space.n_catalog, len(space.users_table_ids.classes_)
    if len(movies) != n_catalog or not np.array_equal(
        np.sort(movies["movie_id"].to_numpy()), space.catalog_ids.classes_
    ):
        refuse("movies.parquet", f"{len(movies)} movies do not match the feature space's catalogue of {n_catalog}")
    if len(users) != n_users or not np.array_equal(
        np.sort(users["user_id"].to_numpy()), space.users_table_ids.classes_
    ):
        refuse("users.parquet", f"{len(users)} users do not match the feature space's {n_users} users")
    counts = manifest["counts"]
    tables = {"movies": movies, "users": users, "train_ratings": bundle.train_ratings}
    for key, table in tables.items():
        if counts.get(key) != len(table):
            refuse(f"{key}.parquet", f"{len(table)} rows, the manifest counts {counts.get(key)!r}")
    if vectors.ndim != 2 or vectors.shape[0] != n_catalog or vectors.dtype != np.float32:
        refuse("movie_vectors.npy", f"shape {vectors.shape} {vectors.dtype}, expected ({n_catalog}, d) float32")
    if not np.isfinite(vectors).all():
        refuse("movie_vectors.npy", "holds NaN or infinite values")
    dim = vectors.shape[1]
    expected = {
        "movie_index": (n_catalog,),
        "movie_genres": (n_catalog, space.movie_genres.shape[1] if space.movie_genres.ndim == 2 else -1),
        "movie_numeric": (n_catalog, len(MOVIE_NUMERIC)),
        "user_gender": (n_users,),
        "user_age": (n_users,),
        "user_occupation": (n_users,),
        "history_movies": (space.user_ids.size, space.history_length),
        "history_ratings": (space.user_ids.size, space.history_length),
    }
    for key, shape in expected.items():
        if getattr(space, key).shape != shape:
            refuse(SPACE_ARRAYS, f"{key} has shape {getattr(space, key).shape}, expected {shape}")
    if space.history_movies.size and int(space.history_movies.max()) >= space.movie_ids.size:
        refuse(SPACE_ARRAYS, "history_movies holds movie indices beyond the movie vocabulary")
    if int(space.movie_index.max(initial=0)) >= space.movie_ids.size:
        refuse(SPACE_ARRAYS, "movie_index holds indices beyond the movie vocabulary")
    genres = bundle.description.genres
    if space.movie_genres.ndim == 2 and space.movie_genres.shape[1] != len(genres):
        refuse(
            MANIFEST,
            f"the dataset description lists {len(genres)} genres, the feature space has "
            f"{space.movie_genres.shape[1]} genre columns",
        )
    recorded = manifest.get("vocab_sizes")
    if recorded is not None and recorded != space.vocab_sizes:
        refuse(SPACE_ARRAYS, f"vocabulary sizes {space.vocab_sizes} differ from the manifest's {recorded}")

    user_file, rank_file, final_file = ONNX_FILES["user_tower"], ONNX_FILES["ranking_model"], ONNX_FILES["final_model"]
    if not set(USER_KEYS) - OPTIONAL_USER_KEYS <= user_model.input_names <= set(USER_KEYS):
        refuse(user_file, f"inputs {sorted(user_model.input_names)}, expected {sorted(USER_KEYS)}")
    if ranker.input_names != set(RANKER_INPUTS):
        refuse(rank_file, f"inputs {sorted(ranker.input_names)}, expected {sorted(RANKER_INPUTS)}")
    widths = {
        (user_file, "history_movies"): (user_model, space.history_length),
        (user_file, "history_ratings"): (user_model, space.history_length),
        (user_file, "user_numeric"): (user_model, len(USER_NUMERIC)),
        (rank_file, "user_vector"): (ranker, dim),
        (rank_file, "movie_vector"): (ranker, dim),
        (rank_file, "user_numeric"): (ranker, len(USER_NUMERIC)),
        (rank_file, "movie_numeric"): (ranker, len(MOVIE_NUMERIC)),
    }
    for (file, key), (model, width) in widths.items():
        if model.input_width(key) != width:
            refuse(file, f"input {key} has width {model.input_width(key)}, the bundle's data has {width}")
    if user_model.output_width != dim:
        refuse(user_file, f"outputs vectors of size {user_model.output_width}, movie_vectors.npy has {dim}")
    final = bundle.final_model
    shape = final.inputs[FEATURES].shape if final.input_names == {FEATURES} else None
    if shape is None or len(shape) != 3 or shape[2] != len(FEATURE_NAMES):
        refuse(final_file, f"inputs {sorted(final.input_names)}, expected {FEATURES!r} of width {len(FEATURE_NAMES)}")
    if not bundle.final_stage_learned:  # the manifest says the formula orders: the model must be the formula
        rows = np.random.default_rng(0).normal(size=(2, 5, len(FEATURE_NAMES))).astype(np.float32)
        if not np.allclose(np.asarray(final({FEATURES: rows})), formula_logits(rows), atol=1e-4):
            refuse(
                final_file, "the manifest says the formula orders the candidates, but this model's residual is not 0"
            )
    try:  # after the models' widths: a vectors file of another size is blamed there first
        build_scorer(bundle.scoring, vectors, space, bundle.train_ratings, bundle.peers)
    except ValueError as exc:
        refuse(SCORING, str(exc))
    _probe(bundle, dim)


def _probe(bundle: Bundle, dim: int) -> None:
    """Run each model once on the largest index of every vocabulary: an embedding table smaller than the feature
    space's vocabulary fails here, at load, instead of on some later request."""
    space, folder = bundle.space, bundle.path
    top = {
        "user_id": space.user_ids.size - 1,
        "gender": space.genders.size - 1,
        "age": space.ages.size - 1,
        "occupation": space.occupations.size - 1,
    }
    user = {key: np.array([value], np.int32) for key, value in top.items()}
    user["history_movies"] = np.full((1, space.history_length), space.movie_ids.size - 1, np.int32)
    user["history_ratings"] = np.ones((1, space.history_length), np.float32)
    user["user_numeric"] = np.zeros((1, len(USER_NUMERIC)), np.float32)
    user["example_age"] = np.zeros(1, np.float32)
    pair = {  # one user row for two movie rows, as serving calls it
        "user_vector": np.zeros((1, dim), np.float32),
        "movie_vector": np.zeros((2, dim), np.float32),
        "user_id": user["user_id"],
        "movie_id": np.array([0, space.movie_ids.size - 1], np.int32),
        "user_numeric": user["user_numeric"],
        "movie_numeric": np.zeros((2, len(MOVIE_NUMERIC)), np.float32),
    }
    for file, model, inputs, shape in (
        (ONNX_FILES["user_tower"], bundle.user_model, user, (1, dim)),
        (ONNX_FILES["ranking_model"], bundle.ranking_model, pair, (2,)),
        (
            ONNX_FILES["final_model"],
            bundle.final_model,
            {FEATURES: np.zeros((1, 2, len(FEATURE_NAMES)), np.float32)},
            (1, 2),
        ),
    ):
        try:
            out = np.asarray(model(inputs))
        except Exception as exc:
            raise BundleError(
                f"{folder / file}: fails on the feature space's largest ids (vocabularies disagree?) or on one user "
                f"row for two movies: "
                f"{exc.__class__.__name__}"
            ) from exc
        if out.shape != shape or not np.isfinite(out).all():
            raise BundleError(f"{folder / file}: output shape {out.shape} (expected {shape}) or non-finite values")


def recommender_from_bundle(bundle: Bundle, backend: Backend = "numpy") -> Recommender:
    """The bundle's Recommender (movierec.recommender), its top-K through the given VectorIndex backend."""
    return Recommender.build(
        space=bundle.space,
        user_model=bundle.user_model,
        ranking_model=bundle.ranking_model,
        final_model=bundle.final_model if bundle.final_stage_learned else None,  # None: the formula, not run
        movie_vectors=bundle.movie_vectors,
        movies=bundle.movies,
        users=bundle.users,
        train_ratings=bundle.train_ratings,
        scoring=bundle.scoring,
        description=bundle.description,
        peers=bundle.peers,
        backend=backend,
    )
