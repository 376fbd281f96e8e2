"""MovieLens-100K end to end from the real archive: train (short epochs), evaluate, serve /recommend."""

import os
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from serving.config import Settings
from serving.main import create_app
from tests.conftest import small_config

pytestmark = pytest.mark.integration
SHARED_ML100K = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ml-100k.zip"


@pytest.fixture(scope="module")
def ml100k_bundle(tmp_path_factory) -> Path:
    archive = Path(os.environ.get("ML100K_ZIP") or SHARED_ML100K)
    if not archive.is_file():
        pytest.skip(f"no MovieLens-100K archive at {archive} (set ML100K_ZIP)")
    from training.train import run

    root = tmp_path_factory.mktemp("ml100k")
    run(
        small_config(),
        archive,
        root / "artifacts",
        root / "raw",
        root / "processed",
        verbose=0,
        dataset="ml-100k",
        choice_trials=5,  # as make train without a settings file: the mix chosen on the validation period first
    )
    return root / "artifacts"


def test_ml100k_without_a_settings_file_chooses_its_mix_on_its_validation_period(ml100k_bundle):
    from movierec.artifacts import load_bundle

    bundle = load_bundle(ml100k_bundle)
    record = bundle.manifest["config"]["settings"]
    assert record["file"] is None and "choice pass" in record["how"]
    chosen = record["choice_pass"]
    assert chosen["confirmation"]["kept"] or chosen["mix"] == chosen["start_mix"]  # confirmed on the other half
    assert 0 < chosen["validation_ratings"] < chosen["fit_ratings"]
    assert bundle.manifest["config"]["transitions"]["weight"] == chosen["mix"]["transitions.weight"]
    report = (bundle.path / "report.md").read_text()
    assert "validation figures that chose them" in report and f"{chosen['objective']}" in report
    final = record["final_stage"]  # learned from the choice pass's fit-part models, kept only when it beat the formula
    assert final["examples"]["streaming"] > 0 and final["examples"]["static"] > 0
    assert final["kept"] == (final["gain"] > final["standard_error"]) and final["why"] in report
    info = bundle.manifest["metrics"]["ranker_validation"]
    assert info["val_rmse"] <= info["val_rmse_bias_model"] + 1e-9  # the rating head never loses to its bias model


def test_ml100k_trains_evaluates_and_serves(ml100k_bundle):
    app = create_app(Settings(artifacts_dir=ml100k_bundle, admin_token="t"))
    with TestClient(app) as client:
        vocabulary = client.get("/vocabulary").json()
        assert vocabulary["dataset"] == "ml-100k" and len(vocabulary["genres"]) == 19
        known = client.post("/recommend", json={"user_id": 1, "top_n_final": 5})
        assert known.status_code == 200, known.text
        assert len(known.json()["recommendations"]) == 5
        new = client.post(
            "/recommend",
            json={"profile": {"gender": "F", "age": 25, "occupation": 4}, "ratings": [{"movie_id": 50, "rating": 5}]},
        )
        assert new.status_code == 200 and 50 not in [r["movie_id"] for r in new.json()["recommendations"]]
        assert client.post("/recommend", json={"user_id": 1, "genres": ["IMAX"]}).status_code == 422
        # every peer method was fitted on ML-100K, evaluated in the same report and is served from the bundle
        peers = client.get("/stats").json()["metrics"]["peers"]["methods"]
        assert vocabulary["models"] == ["two_stage", *sorted(peers)] and "ease" in peers
        lists = {}
        for model in vocabulary["models"]:
            body = client.post("/recommend", json={"user_id": 1, "top_n_final": 10, "model": model}).json()
            assert body["model"] == model and len(body["recommendations"]) == 10, body
            lists[model] = [r["movie_id"] for r in body["recommendations"]]
        assert lists["ease"] != lists["popularity"] != lists["two_stage"]
        half = client.post("/recommend", json={"ratings": [{"movie_id": 50, "rating": 4.5}], "model": "ease"})
        assert half.status_code == 422 and "whole stars 1-5" in half.text
