"""Test helpers shared across test modules."""

from __future__ import annotations

from pathlib import Path

from movierec.artifacts import load_bundle, save_bundle


def resave_bundle(root: Path, bundle=None) -> Path:
    """Export the current bundle of root again as a new version (what a new `make train` does)."""
    b = bundle or load_bundle(root, with_retrieval_model=True)
    return save_bundle(
        root,
        user_tower=b.user_tower,
        movie_tower=b.movie_tower,
        retrieval_model=b.retrieval_model,
        ranking_model=b.ranking_model,
        final_scorer=b.final_scorer,
        movie_vectors=b.movie_vectors,
        space=b.space,
        movies=b.movies,
        users=b.users,
        train_ratings=b.train_ratings,
        config=b.manifest["config"],
        metrics=b.metrics,
        data_sha256=b.manifest["data"]["archive_sha256"],
        timings={},
    )
