"""Shared fixtures: a synthetic ML-1M archive made by the tests, and the real archive when ML1M_ZIP is set."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from movierec.data.archive import extract_archive
from movierec.data.loader import load_dataset
from tests.synthetic import synthetic_files, write_archive

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def synthetic_zip(tmp_path_factory) -> Path:
    return write_archive(tmp_path_factory.mktemp("synthetic") / "ml-1m.zip", synthetic_files())


@pytest.fixture(scope="session")
def synthetic_data(synthetic_zip, tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic-data")
    return load_dataset(extract_archive(synthetic_zip, root / "raw"), root / "processed")


@pytest.fixture(scope="session")
def real_zip() -> Path:
    value = os.environ.get("ML1M_ZIP")
    if not value:
        pytest.skip("ML1M_ZIP is not set: integration tests on the real MovieLens-1M archive are skipped")
    path = Path(value).expanduser().resolve()
    if not path.is_file():
        pytest.fail(f"ML1M_ZIP={value} does not exist")
    return path


@pytest.fixture(scope="session")
def real_data(real_zip, tmp_path_factory):
    root = tmp_path_factory.mktemp("real-data")
    return load_dataset(extract_archive(real_zip, root / "raw"), root / "processed")
