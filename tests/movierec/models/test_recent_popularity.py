"""The recent-popularity term: added for users forecast from the training period, never for live ones."""

import numpy as np
import pytest

from movierec.models.recent_popularity import RecentPopularity


class Space:
    """The one thing the term reads from a feature space."""

    def __init__(self, log_counts):
        self.log_counts = np.asarray(log_counts, np.float64)

    def movie_statistic(self, name):
        assert name == "log_count_recent"
        return self.log_counts


def test_scores_only_users_without_live_ratings():
    term = RecentPopularity(np.log1p([0.0, 3.0, 10.0]), weight=0.5)
    out = term.scores(np.array([False, True, False]))
    assert out.dtype == np.float32 and out.shape == (3, 3)
    np.testing.assert_allclose(out[0], 0.5 * np.log1p([0.0, 3.0, 10.0]), rtol=1e-6)
    np.testing.assert_array_equal(out[1], 0.0)
    np.testing.assert_array_equal(out[0], out[2])


def test_scaling_noise_around_zero_counts_is_zero():
    term = RecentPopularity(np.array([-2e-7, 3e-7, 0.7]), weight=1.0)
    assert term.log_counts.tolist()[:2] == [0.0, 0.0]


@pytest.mark.parametrize("weight", [0.0, -0.1, float("nan"), float("inf")])
def test_refuses_a_weight_that_is_not_positive(weight):
    with pytest.raises(ValueError, match="recent-popularity weight must be a positive number"):
        RecentPopularity(np.zeros(3), weight)


@pytest.mark.parametrize("counts", [np.zeros((2, 3)), np.array([0.1, np.nan]), np.array([0.1, -1.0])])
def test_refuses_counts_that_are_not_one_non_negative_value_per_movie(counts):
    with pytest.raises(ValueError, match="one finite, non-negative value per movie"):
        RecentPopularity(counts, 1.0)


def test_from_config_reads_the_bundles_weight():
    space = Space(np.log1p([1.0, 2.0]))
    term = RecentPopularity.from_config({"popularity": {"weight": 0.04}}, space)
    assert term.weight == 0.04 and term.log_counts.tolist() == pytest.approx(np.log1p([1.0, 2.0]).tolist())
    assert RecentPopularity.from_config({"popularity": {"weight": 0.0}}, space) is None
    assert RecentPopularity.from_config({}, space) is None  # bundles trained before the term
    with pytest.raises(ValueError, match="must be a positive number"):
        RecentPopularity.from_config({"popularity": {"weight": -1}}, space)
