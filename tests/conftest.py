"""Shared fixtures: a synthetic ML-1M archive made by the tests, and the real archive when ML1M_ZIP is set."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

# Tests never touch the repository's data/ folder: anything that defaults to it uses a session temp dir.
os.environ["MOVIEREC_DATA_DIR"] = tempfile.mkdtemp(prefix="movierec-test-data-")

import pytest  # noqa: E402

from movierec.data.archive import extract_archive  # noqa: E402
from movierec.data.loader import load_dataset  # noqa: E402
from movierec.datasets import ml1m  # noqa: E402
from movierec.datasets.registry import describe  # noqa: E402
from tests.synthetic import synthetic_files, write_archive  # noqa: E402

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@pytest.fixture(scope="session")
def synthetic_zip(tmp_path_factory) -> Path:
    return write_archive(tmp_path_factory.mktemp("synthetic") / "ml-1m.zip", synthetic_files())


@pytest.fixture(scope="session")
def synthetic_data(synthetic_zip, tmp_path_factory):
    root = tmp_path_factory.mktemp("synthetic-data")
    return describe(
        load_dataset(extract_archive(synthetic_zip, root / "raw", ml1m.LAYOUT), root / "processed", ml1m.parse),
        ml1m.NAME,
    )


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
    return describe(
        load_dataset(extract_archive(real_zip, root / "raw", ml1m.LAYOUT), root / "processed", ml1m.parse), ml1m.NAME
    )


def small_config(**overrides):
    """A config that trains both models on the synthetic data in seconds."""
    import dataclasses

    from movierec.config import RankingConfig, RetrievalConfig, SequenceConfig, TrainConfig

    return dataclasses.replace(
        TrainConfig(
            history_length=20,
            retrieval=RetrievalConfig(
                epochs=4, batch_size=256, hidden_units=64, output_dim=32, learning_rate=1e-2, temperature=0.1
            ),
            sequence=SequenceConfig(
                history_length=10,
                sequence_dim=16,
                ff_units=32,
                output_dim=16,
                hidden_units=32,
                learning_rate=1e-2,
                epochs=3,
            ),
            ranking=RankingConfig(epochs=10, batch_size=256, units=(64, 32, 16), learning_rate=3e-3, patience=3),
        ),
        **overrides,
    )


@pytest.fixture(scope="session")
def synthetic_bundle(synthetic_zip, tmp_path_factory) -> Path:
    """A bundle trained on the synthetic data (the same training code as `make train`), its artifacts root."""
    from training.train import run

    root = tmp_path_factory.mktemp("bundle")
    run(small_config(), synthetic_zip, root / "artifacts", root / "raw", root / "processed", verbose=0)
    return root / "artifacts"
