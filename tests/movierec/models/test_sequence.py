"""The causal sequence branch and the hybrid towers: causality, the cold path, round trips and ONNX parity."""

import keras
import numpy as np
import pytest

from movierec.config import RetrievalConfig, SequenceConfig
from movierec.models.hybrid import hybrid_tower
from movierec.models.layers import LeadingColumns, WeightedConcat
from movierec.models.losses import NextAndLaterLoss
from movierec.models.retrieval import RetrievalModel
from movierec.models.sequence import build_sequence_towers
from movierec.models.towers import build_movie_tower, build_user_tower
from tests.movierec.models.test_models import VOCAB, movie_batch, roundtrip, user_batch

SEQ = SequenceConfig(hidden_units=16, output_dim=8, sequence_dim=8, ff_units=16, user_id_dim=4)
SEQ_LENGTH = 4  # shorter than the feature space's history (VOCAB: 6), as in training
POOLED = RetrievalConfig(hidden_units=16, output_dim=8, recent_history=3)


def numpy(x):
    return keras.ops.convert_to_numpy(x)


def full_user_batch(n=4, seed=0):
    batch = user_batch(n, seed)
    batch["example_age"] = np.random.default_rng(seed + 7).uniform(0, 1, n).astype("float32")
    return batch


def sequence_batch(n=4, seed=0, length=6):
    batch = full_user_batch(n, seed)
    batch.pop("user_numeric")
    batch["position_age"] = np.tile(batch.pop("example_age")[:, None], (1, length + 1))
    return batch


def test_the_sequence_model_is_causal_and_its_last_position_is_the_user_tower():
    """Changing the latest rating changes only the last position's vector; the tower's vector is that position's."""
    user_tower, sequence = build_sequence_towers(VOCAB, SEQ)
    batch = sequence_batch()
    batch["history_movies"][:, :] = np.arange(1, 7)  # full histories
    states = numpy(sequence(batch, training=False))
    assert states.shape == (4, 7, 8)
    changed = {**batch, "history_movies": batch["history_movies"].copy()}
    changed["history_movies"][:, 0] = 20  # slot 0: the latest rating, the last position
    after = numpy(sequence(changed, training=False))
    np.testing.assert_allclose(after[:, :-1], states[:, :-1], atol=1e-6)
    assert not np.allclose(after[:, -1], states[:, -1], atol=1e-3)
    tower_inputs = {k: v for k, v in batch.items() if k != "position_age"}
    tower_inputs["example_age"] = batch["position_age"][:, -1]
    np.testing.assert_allclose(numpy(user_tower(tower_inputs, training=False)), states[:, -1], atol=1e-5)


def test_the_towers_last_position_only_final_block_matches_every_kind_of_history():
    """The served tower runs its last block for the latest position only: the same state as the full sequence's last
    position for full, partial and empty histories and for a latest movie unknown to training (a masked position)."""
    user_tower, sequence = build_sequence_towers(VOCAB, SEQ)
    batch = sequence_batch(n=5, seed=3)
    batch["history_movies"][0, :] = np.arange(1, 7)  # full
    batch["history_movies"][1, 2:] = 0  # two ratings
    batch["history_movies"][2, :] = 0  # none
    batch["history_movies"][3, 0] = 0  # the latest movie unknown, older ones known
    batch["history_movies"][4, :] = [0, 0, 5, 0, 9, 0]  # gaps
    states = numpy(sequence(batch, training=False))
    tower_inputs = {k: v for k, v in batch.items() if k != "position_age"}
    tower_inputs["example_age"] = batch["position_age"][:, -1]
    np.testing.assert_allclose(numpy(user_tower(tower_inputs, training=False)), states[:, -1], atol=1e-5)


def test_an_empty_history_is_the_user_token_alone():
    """With no ratings, the vector depends on the user token (id, demographics) and nothing else."""
    user_tower, _ = build_sequence_towers(VOCAB, SEQ)
    batch = {k: v for k, v in full_user_batch(3).items() if k != "user_numeric"}
    batch["history_movies"][:] = 0
    other = {**batch, "history_ratings": -batch["history_ratings"]}  # ratings of padding slots are ignored
    a = numpy(user_tower(batch, training=False))
    np.testing.assert_allclose(a, numpy(user_tower(other, training=False)), atol=1e-6)
    demographics = {**batch, "gender": (batch["gender"] + 1) % 3}
    assert not np.allclose(a, numpy(user_tower(demographics, training=False)), atol=1e-4)


def test_sequence_retrieval_model_roundtrip_keeps_the_loss_and_catalogue(tmp_path):
    _, sequence = build_sequence_towers(VOCAB, SEQ)
    model = RetrievalModel(sequence, build_movie_tower(VOCAB, SEQ), n_catalog=5, n_genres=18, n_movie_numeric=5)
    model.set_catalog(movie_batch(5))
    assert numpy(model(sequence_batch())).shape == (4, 7, 5)
    model.compile(optimizer="adam", loss=NextAndLaterLoss(0.5))
    loaded = roundtrip(model, sequence_batch(), tmp_path)
    assert loaded.loss.later_weight == pytest.approx(0.5)


def test_next_and_later_loss_ignores_negative_targets_and_weights_the_later_one():
    logits = np.log(np.array([[[0.5, 0.25, 0.25], [0.1, 0.8, 0.1]]], "float32"))
    targets = np.array([[[0, 1], [-1, -1]]], "int32")
    per_position = numpy(NextAndLaterLoss(0.5).call(targets, logits))
    np.testing.assert_allclose(per_position, [[-np.log(0.5) - 0.5 * np.log(0.25), 0.0]], rtol=1e-5)


def test_next_and_later_loss_leaves_out_the_movies_rated_up_to_each_position():
    """With the third channel, position t's softmax runs over the movies not rated at positions <= t."""
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 4, 6)).astype("float32") * 3
    rated = np.array([[-1, 2, 5, 0], [-1, -1, 3, 1]])  # the movie each position is the state after (-1: none)
    targets = np.array([[[2, 4], [5, 1], [0, 4], [1, 1]], [[-1, -1], [3, 0], [1, 4], [4, -1]]])
    per_position = numpy(NextAndLaterLoss(0.5).call(np.concatenate([targets, rated[..., None]], -1), logits))
    for b in range(2):
        for t in range(4):
            allowed = np.ones(6, bool)
            allowed[[r for r in rated[b, : t + 1] if r >= 0]] = False
            log_p = logits[b, t] - np.log(np.exp(logits[b, t][allowed]).sum())
            want = sum(w * -log_p[r] for r, w in zip(targets[b, t], (1.0, 0.5), strict=True) if r >= 0)
            assert per_position[b, t] == pytest.approx(want, rel=1e-4, abs=1e-5)
    unmasked = numpy(NextAndLaterLoss(0.5).call(targets, logits))
    assert per_position[0, 1] < unmasked[0, 1]  # position 1 leaves out movie 2: every other movie gains mass


def test_leading_columns_and_weighted_concat():
    history = np.arange(12).reshape(2, 6)
    latest = numpy(LeadingColumns(4)(history))
    np.testing.assert_array_equal(latest, history[:, :4])
    assert latest.dtype == history.dtype  # ids stay integers
    assert LeadingColumns.from_config(LeadingColumns(4).get_config()).count == 4
    a, b = np.array([[1.0, 0.0]], "float32"), np.array([[0.0, 1.0, 0.0]], "float32")
    joined = numpy(WeightedConcat([0.75, 0.25])([a, b]))
    np.testing.assert_allclose(joined, [[np.sqrt(0.75), 0, 0, np.sqrt(0.25), 0]], atol=1e-6)
    assert WeightedConcat.from_config(WeightedConcat([0.75, 0.25]).get_config()).branch_weights == [0.75, 0.25]


def hybrid_pair(weight=0.3):
    vocab = {**VOCAB, "history_length": SEQ_LENGTH}
    sequence_user, _ = build_sequence_towers(vocab, SEQ)
    pooled_user, pooled_movie = build_user_tower(VOCAB, POOLED), build_movie_tower(VOCAB, POOLED)
    sequence_movie = build_movie_tower(VOCAB, SEQ, name="sequence_movie_tower")
    user = hybrid_tower(pooled_user, sequence_user, weight, name="hybrid_user_tower")
    movie = hybrid_tower(pooled_movie, sequence_movie, weight, name="hybrid_movie_tower")
    return user, movie, (pooled_user, pooled_movie, sequence_user, sequence_movie)


def test_the_hybrid_score_is_the_weighted_sum_of_both_cosines_and_the_branch_sees_the_latest_slots():
    user, movie, (pooled_user, pooled_movie, sequence_user, sequence_movie) = hybrid_pair(0.3)
    users, movies = full_user_batch(), movie_batch()
    assert set(user.input) == set(users)  # every input the feature space builds, histories at its full width
    pooled = numpy(pooled_user({k: v for k, v in users.items() if k != "example_age"})) @ numpy(pooled_movie(movies)).T
    latest = {k: v for k, v in users.items() if k != "user_numeric"}
    latest["history_movies"], latest["history_ratings"] = (
        users[k][:, :SEQ_LENGTH] for k in ("history_movies", "history_ratings")
    )
    sequence = numpy(sequence_user(latest)) @ numpy(sequence_movie(movies)).T
    np.testing.assert_allclose(numpy(user(users)) @ numpy(movie(movies)).T, 0.7 * pooled + 0.3 * sequence, atol=1e-5)
    older = {**users, "history_movies": users["history_movies"].copy()}
    older["history_movies"][:, SEQ_LENGTH:] = 0  # slots beyond the branch's width reach the pooled side only
    changed = numpy(user(older)) - numpy(user(users))
    assert np.allclose(changed[:, 8:], 0.0, atol=1e-6)


def test_hybrid_towers_roundtrip_and_match_through_onnx(tmp_path):
    from movierec.models.export import to_onnx
    from movierec.models.runtime import OnnxModel

    user, movie, _ = hybrid_pair()
    users = full_user_batch(9)
    users["history_movies"][0] = 0  # an empty history
    users["user_id"][1] = 0  # the unknown user
    for model, inputs in ((user, users), (movie, movie_batch(9))):
        loaded = roundtrip(model, inputs, tmp_path)
        expected = numpy(loaded(inputs, training=False))
        onnx_model = OnnxModel(to_onnx(model), model.name)
        assert onnx_model.input_names == set(inputs)
        np.testing.assert_allclose(onnx_model(inputs), expected, atol=1e-5, err_msg=model.name)
        np.testing.assert_allclose(onnx_model({k: v[:1] for k, v in inputs.items()}), expected[:1], atol=1e-5)


def test_the_served_ranker_reads_the_pooled_side_of_the_joined_vectors(tmp_path):
    from movierec.config import RankingConfig
    from movierec.models.export import to_onnx
    from movierec.models.hybrid import pooled_side_ranker
    from movierec.models.ranking import build_ranking_model
    from movierec.models.runtime import OnnxModel
    from tests.movierec.models.test_models import RANGE, ranking_batch

    weight = 0.25
    ranker = build_ranking_model(VOCAB, 8, RankingConfig(units=(16, 8, 4)), global_mean=3.6, rating_range=RANGE)
    served = pooled_side_ranker(ranker, 16, weight, name="hybrid_ranking_model")
    pooled = ranking_batch(7, seed=4)
    rng = np.random.default_rng(5)
    joined = dict(pooled)
    for key in ("user_vector", "movie_vector"):  # the pooled side scaled as WeightedConcat does, then another side
        joined[key] = np.hstack([pooled[key] * np.sqrt(1 - weight), rng.normal(size=(7, 8))]).astype("float32")
    expected = numpy(ranker(pooled, training=False))
    np.testing.assert_allclose(numpy(served(joined, training=False)), expected, atol=1e-5)
    loaded = roundtrip(served, joined, tmp_path)
    np.testing.assert_allclose(OnnxModel(to_onnx(loaded), "ranker")(joined), expected, atol=1e-5)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        pooled_side_ranker(ranker, 16, 1.0, name="nope")
