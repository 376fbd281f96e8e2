"""The choice pass: models fitted on the fit part only, the mix chosen on the validation period, never the test."""

from __future__ import annotations

import numpy as np
import pytest

from movierec.data.split import chronological_split, validation_mask
from tests.conftest import small_config
from training.choice import FIGURES, MIX_RANGES, choice_pass, means, objective, objective_gain


@pytest.fixture(scope="module")
def chosen(synthetic_data):
    import training.stages as stages

    split = chronological_split(synthetic_data.ratings)
    cfg = small_config()
    seen: dict = {"reports": []}
    real_fit_models = stages.fit_models

    def recording_fit_models(cfg, data, train, *args, **kwargs):
        seen["fitted"] = set(train.index)
        return real_fit_models(cfg, data, train, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stages, "fit_models", recording_fit_models)
        new_cfg, record = choice_pass(
            cfg, synthetic_data, split.train, synthetic_data.users, {}, 0, 6, lambda *step: seen["reports"].append(step)
        )
    return split, cfg, new_cfg, record, seen


def test_the_choice_pass_fits_on_the_fit_part_and_judges_on_the_validation_period(chosen):
    split, cfg, _, record, seen = chosen
    is_val = validation_mask(split.train, cfg.validation)
    fit, validation = split.train.loc[~is_val], split.train.loc[is_val]
    assert seen["fitted"] == set(fit.index)  # no validation rating fitted
    assert fit["timestamp"].max() < validation["timestamp"].min()
    assert record["fit_ratings"] == len(fit) and record["validation_ratings"] == len(validation)
    assert validation["timestamp"].max() < split.test["timestamp"].min()  # and the test split is never reached


def test_the_mix_is_within_its_ranges_and_replaces_the_start_only_when_confirmed(chosen):
    _, cfg, new_cfg, record, _ = chosen
    assert set(record["mix"]) == set(MIX_RANGES)
    for key, value in record["mix"].items():
        low, high = MIX_RANGES[key]
        assert low <= value <= high
    assert new_cfg.transitions.weight == record["mix"]["transitions.weight"]
    assert new_cfg.sequence.weight == record["mix"]["sequence.weight"]
    assert record["start_mix"]["transitions.weight"] == cfg.transitions.weight
    assert set(record["figures"]) == set(FIGURES)
    assert all(0.0 <= value <= 1.0 for value in record["figures"].values())
    confirmation = record["confirmation"]
    assert confirmation["kept"] == (
        confirmation["confirmed_gain"] > cfg.validation.min_gain_errors * confirmation["confirmed_standard_error"]
    )
    if not confirmation["kept"]:
        assert record["mix"] == record["start_mix"] and record["figures"] == record["start_figures"]
    assert record["objective"] == objective(record["figures"])


def test_a_gain_on_every_query_is_confirmed_and_noise_is_not():
    rng = np.random.default_rng(0)
    n = 400
    start = {name: rng.uniform(0.1, 0.5, n) for name in FIGURES}
    start["liked_ndcg@10"][::3] = np.nan  # users without a liked movie
    masks = {"static": np.ones(n, bool), "stream": np.ones(n, bool)}
    better = {name: values + 0.05 for name, values in start.items()}
    gain, error = objective_gain(better, start, masks)
    assert gain > 0 and gain > 5 * error
    noisy = {name: values + rng.normal(0, 0.2, n) for name, values in start.items()}
    gain, error = objective_gain(noisy, start, masks)
    assert abs(gain) < 3 * error
    assert means(start, masks)["liked_ndcg@10"] == pytest.approx(np.nanmean(start["liked_ndcg@10"]))


def test_objective_is_the_geometric_mean_of_the_four_figures():
    figures = dict(zip(FIGURES, (0.4, 0.1, 0.2, 0.05), strict=True))
    assert objective(figures) == pytest.approx(np.prod(list(figures.values())) ** 0.25)


def test_the_towers_stop_early_on_the_validation_period_and_their_best_epochs_are_kept(chosen):
    _, cfg, new_cfg, record, seen = chosen
    for kind in ("retrieval", "sequence"):
        values = record["tower_validation"][kind]
        best = record["epochs"][kind]
        assert 1 <= best <= len(values) <= getattr(cfg, kind).epochs
        assert values[best - 1] == max(values)
        assert getattr(new_cfg, kind).epochs == best
    steps = [step for step, _ in seen["reports"]]
    assert steps == list(range(len(record["tower_validation"]["retrieval"]))) + [
        100 + i for i in range(len(record["tower_validation"]["sequence"]))
    ]
