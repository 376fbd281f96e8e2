"""Every supported dataset by name, and one call from a dataset name and an archive to validated tables."""

from __future__ import annotations

import dataclasses
import functools
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import requests

from movierec.config import PROCESSED_DIR, RAW_DIR
from movierec.data.archive import SOURCE_MARKER, ArchiveLayout, download_official, extract_archive, obtain_archive
from movierec.data.loader import MovieLens, load_dataset
from movierec.datasets import csv_family, ml1m, ml100k
from movierec.datasets.description import DatasetDescription
from movierec.errors import DownloadError

DEFAULT_DATASET = ml1m.NAME
_MD5 = re.compile(r"\b[0-9a-fA-F]{32}\b")


@dataclass(frozen=True)
class Adapter:
    """One dataset: its archive layout, its description, its parser and its official download."""

    name: str
    layout: ArchiveLayout
    description: DatasetDescription
    parse: Callable[[Path, str], MovieLens]  # (extracted folder, archive sha256) -> validated tables
    url: str
    md5: str | None  # None: read from md5_url when downloading

    @property
    def md5_url(self) -> str:
        return f"{self.url}.md5"

    def download(self, dest: Path) -> Path:
        """The official archive at dest, md5-checked (against md5_url's published checksum when md5 is None)."""
        hint = f"DATASET={self.name} DATA_ZIP=/path/to/{self.layout.zip_name}"
        return download_official(dest, self.url, self.md5 or published_md5(self.md5_url), hint=hint)


def published_md5(url: str, timeout: float = 30.0) -> str:
    """The md5 in a grouplens .md5 file ('MD5 (ml-32m.zip) = <hex>' or '<hex>  ml-32m.zip')."""
    try:
        response = requests.get(url, timeout=timeout)
        response.raise_for_status()
    except requests.RequestException as exc:
        raise DownloadError(f"could not read the published checksum {url} ({exc.__class__.__name__}: {exc})") from exc
    match = _MD5.search(response.text[:1000])
    if match is None:
        raise DownloadError(f"{url}: no md5 checksum in the published file")
    return match.group().lower()


def _csv_adapter(variant: csv_family.Variant) -> Adapter:
    return Adapter(
        name=variant.name,
        layout=variant.layout,
        description=variant.description,
        parse=functools.partial(csv_family.parse, variant=variant),
        url=variant.url,
        md5=variant.md5,
    )


ADAPTERS: dict[str, Adapter] = {
    ml1m.NAME: Adapter(ml1m.NAME, ml1m.LAYOUT, ml1m.DESCRIPTION, ml1m.parse, ml1m.OFFICIAL_URL, ml1m.OFFICIAL_MD5),
    ml100k.NAME: Adapter(
        ml100k.NAME, ml100k.LAYOUT, ml100k.DESCRIPTION, ml100k.parse, ml100k.OFFICIAL_URL, ml100k.OFFICIAL_MD5
    ),
    **{name: _csv_adapter(variant) for name, variant in csv_family.VARIANTS.items()},
}


def adapter(dataset: str) -> Adapter:
    """The adapter of a dataset name; ValueError listing the names when unknown."""
    try:
        return ADAPTERS[dataset]
    except KeyError:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {', '.join(ADAPTERS)}") from None


def describe(data: MovieLens, dataset: str) -> MovieLens:
    """The tables with the dataset's description attached (id ranges taken from the tables)."""
    description = adapter(dataset).description.with_id_ranges(data.ratings, data.movies, data.users)
    return dataclasses.replace(data, description=description)


def load(
    dataset: str = DEFAULT_DATASET,
    archive: str | os.PathLike | None = None,
    raw_dir: Path = RAW_DIR,
    processed_dir: Path = PROCESSED_DIR,
) -> MovieLens:
    """Validated tables + description of a dataset: from a local archive, else the official download.

    The archive is format-checked, extracted to a staging folder and validated there; it replaces the previous
    extraction of that dataset only when valid. Tables go through the parquet cache keyed by the archive's sha256.
    """
    chosen = adapter(dataset)
    path = obtain_archive(raw_dir, archive, chosen.layout, chosen.download)
    validated: list[MovieLens] = []
    extracted = extract_archive(
        path,
        raw_dir,
        validate=lambda staging: validated.append(load_dataset(staging, processed_dir, chosen.parse)),
        layout=chosen.layout,
    )
    data = validated[0] if validated else load_dataset(extracted, processed_dir, chosen.parse)
    return describe(data, dataset)


def load_prepared(
    dataset: str = DEFAULT_DATASET,
    archive: str | os.PathLike | None = None,
    raw_dir: Path = RAW_DIR,
    processed_dir: Path = PROCESSED_DIR,
) -> MovieLens:
    """What `make data` prepared for this dataset (no download when it is there); else load() it."""
    chosen = adapter(dataset)
    extracted = raw_dir / chosen.layout.folder
    if archive is None and (extracted / SOURCE_MARKER).is_file():
        return describe(load_dataset(extracted, processed_dir, chosen.parse), dataset)
    return load(dataset, archive, raw_dir, processed_dir)
