"""One call from an archive (or the official download) to validated, cached tables of any supported dataset."""

from __future__ import annotations

import os
from pathlib import Path

from movierec.config import PROCESSED_DIR, RAW_DIR
from movierec.data.loader import MovieLens
from movierec.datasets import registry


def prepare_dataset(
    local_zip: str | os.PathLike | None = None,
    raw_dir: Path = RAW_DIR,
    processed_dir: Path = PROCESSED_DIR,
    *,
    dataset: str,
) -> MovieLens:
    """Get the dataset's archive (local or downloaded), extract it, parse/validate it through the parquet cache.

    A new archive is extracted to a staging folder and validated there; it replaces the previous extraction
    only when it is valid, so a failed run leaves the last good data in place. The result carries the
    dataset's description (`.description`).
    """
    return registry.load(dataset, local_zip, raw_dir, processed_dir)


def load_prepared(
    local_zip: str | os.PathLike | None = None,
    raw_dir: Path = RAW_DIR,
    processed_dir: Path = PROCESSED_DIR,
    *,
    dataset: str,
) -> MovieLens:
    """The data `make data` prepared for the dataset (no download when it is there); else prepare it from local_zip
    or online."""
    return registry.load_prepared(dataset, local_zip, raw_dir, processed_dir)
