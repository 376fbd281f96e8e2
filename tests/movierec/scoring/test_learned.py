"""The learned final stage's feature rows, and a final model whose residual is 0 ordering as the formula does."""

import numpy as np
import pytest

from movierec.artifacts import load_bundle
from movierec.models.runtime import OnnxModel
from movierec.retrievers.topk import top_k_rows
from movierec.scoring import build_scorer
from movierec.scoring.learned import BASE_COLUMNS, FEATURE_NAMES, LOG_FLOOR
from tests.movierec.scoring.test_scorer import queries  # noqa: F401  (a fixture)


@pytest.fixture(scope="module")
def bundle(synthetic_bundle):
    return load_bundle(synthetic_bundle)


def candidate_inputs(bundle, queries, k=20):  # noqa: F811
    scorer = build_scorer(bundle.scoring, bundle.movie_vectors, bundle.space, bundle.train_ratings, bundle.peers)
    scores = scorer.retrieval_scores(queries).astype(np.float64)
    candidates = top_k_rows(scores, k)
    users = np.sort(bundle.train_ratings["user_id"].unique())[:4]
    inputs = bundle.space.user_inputs(users)
    predicted = np.linspace(1.0, 5.0, candidates.size).reshape(candidates.shape)
    return scorer, scores, candidates, inputs, predicted


def test_feature_rows_hold_the_formula_and_each_term(bundle, queries):  # noqa: F811
    scorer, scores, candidates, inputs, predicted = candidate_inputs(bundle, queries)
    rows = scorer.final_features(queries, inputs, scores, candidates, predicted)
    assert rows.shape == (*candidates.shape, len(FEATURE_NAMES)) and rows.dtype == np.float32
    formula = scorer.final_scores(queries, inputs, scores, candidates, predicted)
    np.testing.assert_allclose(rows[..., list(BASE_COLUMNS)].sum(axis=-1), np.log(formula), rtol=1e-4, atol=1e-4)
    column = {name: i for i, name in enumerate(FEATURE_NAMES)}
    width = bundle.scoring.pooled_width
    movies = bundle.movie_vectors[candidates]
    np.testing.assert_allclose(
        rows[..., column["pooled"]] + rows[..., column["sequence"]],
        np.einsum("nd,nkd->nk", queries.vectors, movies),
        rtol=1e-4,
        atol=1e-5,
    )
    assert np.all(rows[~queries.live][..., column["transition"]] == 0)  # read for live users only
    assert np.any(rows[queries.live][..., column["transition"]] > 0)
    np.testing.assert_array_equal(rows[..., column["live"]], np.broadcast_to(queries.live[:, None], candidates.shape))
    np.testing.assert_allclose(rows[0, :, column["movie_log_count"]], bundle.space.movie_numeric[candidates[0], 1])
    assert width < bundle.movie_vectors.shape[1]


def test_an_excluded_candidate_keeps_finite_rows(bundle, queries):  # noqa: F811
    scorer, scores, candidates, inputs, predicted = candidate_inputs(bundle, queries)
    scores[0, candidates[0, -1]] = -np.inf  # fewer movies left than candidates asked for
    rows = scorer.final_features(queries, inputs, scores, candidates, predicted)
    assert np.isfinite(rows).all() and rows[0, -1, 0] == LOG_FLOOR


def test_a_final_model_with_residual_zero_orders_as_the_formula(bundle, queries):  # noqa: F811
    from movierec.models.export import to_onnx
    from training.final_stage import formula_head

    _, scores, candidates, inputs, predicted = candidate_inputs(bundle, queries)
    plain = build_scorer(bundle.scoring, bundle.movie_vectors, bundle.space, bundle.train_ratings, bundle.peers)
    learned = build_scorer(
        bundle.scoring,
        bundle.movie_vectors,
        bundle.space,
        bundle.train_ratings,
        bundle.peers,
        final_model=OnnxModel(to_onnx(formula_head()), "final_model.onnx"),
    )
    formula = plain.final_scores(queries, inputs, scores, candidates, predicted)
    head = learned.final_scores(queries, inputs, scores, candidates, predicted)
    np.testing.assert_allclose(head, formula, rtol=1e-3)
    np.testing.assert_array_equal(np.argsort(-head, axis=1, kind="stable"), np.argsort(-formula, axis=1, kind="stable"))
