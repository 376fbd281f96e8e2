"""One call from an archive (or the official download) to validated, cached tables."""

from __future__ import annotations

import os
from pathlib import Path

from movierec.config import PROCESSED_DIR, RAW_DIR
from movierec.data.archive import ARCHIVE_DIR, SOURCE_MARKER, extract_archive, obtain_archive
from movierec.data.loader import MovieLens, load_dataset


def prepare_dataset(
    local_zip: str | os.PathLike | None = None, raw_dir: Path = RAW_DIR, processed_dir: Path = PROCESSED_DIR
) -> MovieLens:
    """Get the archive (local or downloaded), extract it, parse/validate it through the parquet cache.

    A new archive is extracted to a staging folder and validated there; it replaces the previous extraction
    only when it is valid, so a failed run leaves the last good data in place.
    """
    archive = obtain_archive(raw_dir, local_zip)
    validated: list[MovieLens] = []
    extracted = extract_archive(
        archive, raw_dir, validate=lambda staging: validated.append(load_dataset(staging, processed_dir))
    )
    return validated[0] if validated else load_dataset(extracted, processed_dir)


def load_prepared(
    local_zip: str | os.PathLike | None = None, raw_dir: Path = RAW_DIR, processed_dir: Path = PROCESSED_DIR
) -> MovieLens:
    """The data `make data` prepared (no download when it is there); else prepare it from local_zip or online."""
    extracted = raw_dir / ARCHIVE_DIR
    if local_zip is None and (extracted / SOURCE_MARKER).is_file():
        return load_dataset(extracted, processed_dir)
    return prepare_dataset(local_zip, raw_dir, processed_dir)
