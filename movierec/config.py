"""One place for paths, dataset-independent constants and every training hyperparameter."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("MOVIEREC_DATA_DIR", PROJECT_ROOT / "data"))
RAW_DIR = DATA_DIR / "raw"
PROCESSED_DIR = DATA_DIR / "processed"
ARTIFACTS_DIR = Path(os.environ.get("ARTIFACTS_DIR", PROJECT_ROOT / "artifacts"))

MAX_ID = 2**31 - 1  # ids are 32-bit (store columns, model inputs): larger ones cannot exist
# How the users table holds a user created through the API without demographics (occupation 0 is a real code)
UNKNOWN_GENDER, UNKNOWN_AGE, UNKNOWN_OCCUPATION = "", 0, -1
SECONDS_PER_DAY = 86_400


@dataclass(frozen=True)
class ValidationConfig:
    """The validation period: the training period's end, cut by time (movierec.data.split.validation_mask), where
    every stage stops early and every setting is chosen; sized for any dataset, never by a number of days."""

    fraction: float = 0.1  # at least this share of the training ratings
    min_ratings: int = 1000
    min_users: int = 50
    max_fraction: float = 0.5  # and at most this share, so the fit part keeps the rest
    # a choice made there (the candidate sources' mix, the learned final stage) replaces the starting one only when
    # its gain on queries it was not chosen on is more than this many standard errors
    min_gain_errors: float = 1.0


@dataclass(frozen=True)
class RetrievalConfig:
    """Two-tower retrieval model and its full-softmax training."""

    user_id_dim: int = 32
    feature_dim: int = 8
    movie_id_dim: int = 32
    history_dim: int = 32
    hidden_units: int = 128
    output_dim: int = 64
    dropout: float = 0.1
    temperature: float = 0.05
    epochs: int = 2
    batch_size: int = 4096
    learning_rate: float = 3e-3
    cold_user_rate: float = 0.15
    recency_half_life_days: float = 60.0
    recency_floor: float = 0.2
    example_age: bool = True
    recent_history: int = 10


@dataclass(frozen=True)
class SequenceConfig:
    """The causal sequence branch of the user tower (movierec.models.sequence) and its sequence-to-sequence training.

    weight and live_weight are the branch's w and w_live in the served score (movierec.scoring); weight 0 leaves the
    branch out (the pooled two-tower alone), and it stays below 1, as the ranker reads the pooled side.
    """

    weight: float = 0.1  # chosen on a validation period cut from the training period (docs/experiments.md)
    live_weight: float = 1.0  # chosen on a validation period cut from the training period (docs/experiments.md)
    history_length: int = 50  # the latest ratings the branch attends to (the feature space keeps more)
    user_id_dim: int = 32  # a known user's id embedding in the user token (0: none)
    feature_dim: int = 8
    movie_id_dim: int = 32
    hidden_units: int = 128  # its own movie tower
    output_dim: int = 64
    sequence_dim: int = 64
    blocks: int = 2
    heads: int = 2
    ff_units: int = 128
    dropout: float = 0.0  # at 5 epochs the branch is still learning: dropout only slowed it (docs/experiments.md)
    temperature: float = 0.05
    later_weight: float = 0.25  # the "a random later rating" target's weight next to the next rating's
    mask_rated: bool = True  # each position's softmax leaves out the movies rated up to it (within the window)
    epochs: int = 5
    batch_size: int = 128  # windows per step
    learning_rate: float = 3e-3
    cold_user_rate: float = 0.15  # windows whose user id is dropped (trains the unknown-user index)
    recency_half_life_days: float = 60.0
    recency_floor: float = 0.2
    example_age: bool = True


@dataclass(frozen=True)
class TransitionConfig:
    """The transitions source (movierec.retrievers.transitions) and weight, its w_t in the served score
    (movierec.scoring); weight 0 leaves the term out."""

    weight: float = 4.0  # chosen on a validation period cut from the training period (docs/experiments.md)
    lags: int = 3
    window: int = 10
    decay: float = 0.8
    lag_decay: float = 0.5
    smoothing: float = 5.0

    def retriever_settings(self) -> dict:
        """The TransitionRetriever's constructor arguments."""
        return {key: value for key, value in dataclasses.asdict(self).items() if key != "weight"}


@dataclass(frozen=True)
class PopularityConfig:
    """weight: the recent-popularity source's w_p in the served score (movierec.scoring; the counts are of the
    training period's last TrainConfig.recent_days days); weight 0 leaves the term out."""

    weight: float = 0.04  # chosen on a validation period cut from the training period (docs/experiments.md)


@dataclass(frozen=True)
class RankingConfig:
    """DNN rating ranker on top of the tower vectors."""

    id_dim: int = 16
    units: tuple[int, ...] = (256, 128, 64)
    dropouts: tuple[float, ...] = (0.3, 0.2, 0.1)
    epochs: int = 12
    batch_size: int = 2048
    learning_rate: float = 1e-3
    patience: int = 2
    # the bias model under the residual: its user and movie regularisation, each chosen on the validation period
    bias_regularisation: tuple[float, ...] = (1.0, 3.0, 10.0, 30.0, 100.0)
    # the residual's scale for known and for unknown users, each chosen on the validation period (0: the bias model)
    residual_scales: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 2.5)
    # epochs over the whole training period, validation slice included, after early stopping: the ranker then also
    # learns the latest week's ratings and the users who rated only in it (chosen on the held-out period)
    closing_epochs: int = 1
    cold_user_rate: float = 0.15
    example_age: bool = True


@dataclass(frozen=True)
class FinalStageConfig:
    """The learned final stage (training.final_stage): its examples from the validation period and its head."""

    learned: bool = True  # False: the formula orders the candidates (no final-stage pass)
    events: int = 60000  # streaming examples: a seeded sample of the validation period's ratings
    users: int = 3000  # static examples: a seeded sample of the validation period's users
    static_weight: float = 1.0  # the static examples' total weight next to the streaming ones'
    hidden: int = 32
    dropout: float = 0.1
    learning_rate: float = 3e-3
    batch_size: int = 128
    epochs: int = 8  # judged after each, cross-fitted
    folds: int = 3  # by user: each fold judged by a head fitted on the others


@dataclass(frozen=True)
class TrainConfig:
    """Everything one training run depends on; saved whole into the manifest."""

    seed: int = 42
    test_fraction: float = 0.2
    # above 0: fitted and judged on the held-out period, the training period's last share (data.split.evaluation_split)
    holdout_fraction: float = 0.0
    history_length: int = 100
    retrieve_k: int = 200
    final_k: int = 10
    recent_days: float = 30.0
    validation: ValidationConfig = field(default_factory=ValidationConfig)
    peers: tuple[str, ...] | None = None  # peer methods fitted, evaluated and saved (None: all of movierec.retrievers)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    sequence: SequenceConfig = field(default_factory=SequenceConfig)
    transitions: TransitionConfig = field(default_factory=TransitionConfig)
    popularity: PopularityConfig = field(default_factory=PopularityConfig)
    ranking: RankingConfig = field(default_factory=RankingConfig)
    final: FinalStageConfig = field(default_factory=FinalStageConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)
