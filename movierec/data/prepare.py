"""One call from an archive (or the official download) to validated, cached tables."""

from __future__ import annotations

import os
from pathlib import Path

from movierec.config import PROCESSED_DIR, RAW_DIR
from movierec.data.archive import extract_archive, obtain_archive
from movierec.data.loader import MovieLens, load_dataset


def prepare_dataset(
    local_zip: str | os.PathLike | None = None, raw_dir: Path = RAW_DIR, processed_dir: Path = PROCESSED_DIR
) -> MovieLens:
    """Get the archive (local or downloaded), extract it, parse/validate it through the parquet cache."""
    archive = obtain_archive(raw_dir, local_zip)
    extracted = extract_archive(archive, raw_dir)
    return load_dataset(extracted, processed_dir)
