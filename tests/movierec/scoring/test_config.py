"""ScoringConfig: every parameter of the served score in one checked record, read from a training config."""

import dataclasses
import json

import pytest

from movierec.config import TrainConfig
from movierec.scoring import LikeCalibration, ScoringConfig

BASE = {"pooled_width": 4, "temperature": 0.05, "like_slope": 2.0, "like_intercept": -7.0}


def test_from_train_config_takes_every_weight_and_the_towers_temperature():
    cfg = TrainConfig()
    scoring = ScoringConfig.from_train_config(cfg, LikeCalibration(1.5, -6.0))
    assert scoring == ScoringConfig(
        pooled_width=cfg.retrieval.output_dim,
        temperature=cfg.retrieval.temperature,
        like_slope=1.5,
        like_intercept=-6.0,
        sequence_weight=cfg.sequence.weight,
        live_weight=cfg.sequence.live_weight,
        transition_weight=cfg.transitions.weight,
        popularity_weight=cfg.popularity.weight,
    )
    assert scoring.like == LikeCalibration(1.5, -6.0)
    no_branch = dataclasses.replace(cfg, sequence=dataclasses.replace(cfg.sequence, weight=0.0, live_weight=0.7))
    assert ScoringConfig.from_train_config(no_branch, LikeCalibration(1.0, 0.0)).live_weight == 0.0  # nothing to mix


def test_round_trips_through_json():
    scoring = ScoringConfig(**BASE, sequence_weight=0.1, live_weight=1.0, transition_weight=4.0, popularity_weight=0.04)
    assert ScoringConfig.from_dict(json.loads(json.dumps(scoring.to_dict()))) == scoring


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"temperature": 0.0}, "temperature must be above 0"),
        ({"temperature": float("nan")}, "temperature must be a finite number"),
        ({"pooled_width": 0}, "pooled_width must be a whole number at least 1"),
        ({"pooled_width": 4.0}, "pooled_width must be a whole number"),
        ({"sequence_weight": 1.0}, r"sequence_weight must be in \[0, 1\)"),
        ({"sequence_weight": 0.2, "live_weight": 1.5}, r"live_weight must be in \[0, 1\]"),
        ({"live_weight": 0.5}, "live_weight 0.5 needs a sequence branch"),
        ({"transition_weight": -1.0}, "transition_weight must be at least 0"),
        ({"popularity_weight": float("inf")}, "popularity_weight must be a finite number"),
        ({"like_slope": True}, "like_slope must be a finite number"),
    ],
)
def test_refuses_values_outside_their_range(change, message):
    with pytest.raises(ValueError, match=message):
        ScoringConfig(**{**BASE, **change})


def test_from_dict_names_what_is_missing_or_unknown():
    saved = ScoringConfig(**BASE).to_dict()
    del saved["like_intercept"]
    with pytest.raises(ValueError, match=r"missing \['like_intercept'\], unknown \['slope'\]"):
        ScoringConfig.from_dict({**saved, "slope": 1.0})
    with pytest.raises(ValueError, match="expected a JSON object"):
        ScoringConfig.from_dict([1, 2])
