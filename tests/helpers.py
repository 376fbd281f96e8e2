"""Test helpers shared across test modules."""

from __future__ import annotations

from pathlib import Path

from movierec.artifacts import load_bundle, save_bundle


def resave_bundle(root: Path, bundle=None) -> Path:
    """Export the current bundle of root again as a new version (what a new `make train` does)."""
    b = bundle or load_bundle(root, keras_models=True)
    return save_bundle(
        root,
        keras_models=b.keras_models,
        onnx_models=b.onnx_bytes(),
        scoring=b.scoring,
        movie_vectors=b.movie_vectors,
        space=b.space,
        movies=b.movies,
        users=b.users,
        train_ratings=b.train_ratings,
        config=b.manifest["config"],
        metrics=b.metrics,
        data_sha256=b.manifest["data"]["archive_sha256"],
        timings={},
        description=b.description,
        peers=b.peers,
    )


def replace_part(folder: Path, name: str, content: bytes) -> None:
    """Replace one file of a bundle AND its manifest entry, so checksums still match (a deliberate swap)."""
    import hashlib
    import json

    (folder / name).write_bytes(content)
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"][name] = {"sha256": hashlib.sha256(content).hexdigest(), "bytes": len(content)}
    manifest_path.write_text(json.dumps(manifest))
