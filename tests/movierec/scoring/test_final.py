"""The final score: softmax of the retrieval scores over the movies not excluded, times the like calibration."""

import numpy as np
import pytest

from movierec.scoring import FinalScorer, LikeCalibration


def test_like_calibration_learns_that_higher_predictions_are_liked_more():
    rng = np.random.default_rng(0)
    predicted = rng.uniform(1, 5, 2000)
    ratings = np.clip(np.rint(predicted + rng.normal(0, 0.7, 2000)), 1, 5)
    like = LikeCalibration.fit(predicted, ratings, liked_threshold=4.0)
    assert like.slope > 1.0
    probability = like.probability(np.array([1.0, 3.0, 5.0]))
    assert np.all(np.diff(probability) > 0) and probability[0] < 0.05 and probability[2] > 0.9


@pytest.mark.parametrize("ratings", [np.full(20, 5.0), np.full(20, 2.0)])
def test_like_calibration_is_neutral_when_every_rating_or_none_is_liked(ratings):
    """Nothing to fit: the neutral calibration, whatever the predictions."""
    like = LikeCalibration.fit(np.linspace(1, 5, 20), ratings, liked_threshold=4.0)
    assert like == LikeCalibration(1.0, -3.5)


def test_final_score_is_the_softmax_over_what_is_not_excluded_times_the_like_probability():
    scorer = FinalScorer(temperature=0.5, like=LikeCalibration(2.0, -7.0))
    scores = np.array([[1.0, 0.5, -np.inf, 0.0]])
    normaliser = scorer.log_normaliser(scores)
    expected_normaliser = np.log(np.exp(2.0) + np.exp(1.0) + np.exp(0.0))  # the excluded movie does not count
    np.testing.assert_allclose(normaliser, [expected_normaliser])
    predicted = np.array([4.0, 3.0])
    final = scorer.scores(scores[:, :2], predicted, normaliser[:, None])
    softmax = np.exp([2.0, 1.0]) / np.exp(expected_normaliser)
    like = 1 / (1 + np.exp(-(2.0 * predicted - 7.0)))
    np.testing.assert_allclose(final[0], softmax * like)
