"""`make tune` on the synthetic archive: a seeded, stored study whose best trial becomes a settings file."""

from __future__ import annotations

import optuna
import pytest

from training import tune
from training.settings import read, write


@pytest.fixture(scope="module")
def tuned(synthetic_zip, tmp_path_factory):
    root = tmp_path_factory.mktemp("tune")
    argv = ["--dataset", "ml-1m", "--archive", str(synthetic_zip), "--data-dir", str(root / "data"), "--quiet"]
    argv += ["--trials", "2", "--mix-trials", "3", "--budget", "30", "--output", str(root / "study")]
    argv += ["--settings-out", str(root / "ml-1m.json")]
    assert tune.main(argv) == 0
    return root


def test_tune_writes_a_settings_file_that_make_train_reads(tuned):
    loaded = read(tuned / "ml-1m.json", "ml-1m")
    assert "Optuna" in loaded.chosen["by"] and loaded.chosen["value"] >= loaded.chosen["start_value"]
    assert {"retrieval.temperature", "sequence.weight", "transitions.weight", "popularity.weight"} <= set(
        loaded.settings
    )
    assert set(loaded.chosen["figures"]) == {"recall@200", "ndcg@10", "liked_ndcg@10", "streaming_hr@10"}


def test_the_final_stage_check_sets_final_learned_with_its_reason(tuned):
    loaded = read(tuned / "ml-1m.json", "ml-1m")
    check = loaded.chosen["final_stage"]
    assert loaded.settings["final.learned"] is check["kept"]
    assert "formula" in check["why"] and check["examples"]["streaming"] > 0
    assert set(check["held_out_figures"]) == {"static NDCG@10", "static liked NDCG@10", "streaming NDCG@10"}


def test_final_stage_only_rewrites_just_that_answer(tuned, synthetic_zip):
    path = tuned / "ml-1m.json"
    before = read(path, "ml-1m")
    forced = {**before.settings, "final.learned": not before.settings["final.learned"]}
    write(path, "ml-1m", forced, {**before.chosen, "final_stage": {"why": "stale"}})
    argv = ["--dataset", "ml-1m", "--archive", str(synthetic_zip), "--data-dir", str(tuned / "data"), "--quiet"]
    assert tune.main([*argv, "--final-stage-only", "--settings-out", str(path)]) == 0
    after = read(path, "ml-1m")
    assert after.settings == before.settings  # the same seed and settings: the same answer as the study's check
    others = [key for key in before.chosen if key != "final_stage"]
    assert {key: after.chosen[key] for key in others} == {key: before.chosen[key] for key in others}
    assert after.chosen["final_stage"]["why"] != "stale"


def test_the_study_is_stored_and_its_first_trial_is_the_built_in_settings(tuned):
    study = optuna.load_study(study_name="ml-1m", storage=f"sqlite:///{tuned / 'study' / 'study.db'}")
    assert len(study.trials) == 2
    assert study.trials[0].params == tune.start_params(tune.TrainConfig())


@pytest.mark.parametrize("argv", [["--budget", "0"], ["--trials", "0"], ["--mix-trials", "0"]])
def test_bad_options_are_refused(argv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        tune.parse_args(argv)
    assert exit_info.value.code == 2 and argv[0] in capsys.readouterr().err
