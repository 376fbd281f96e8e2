"""The offline evaluation: model vs baselines on the chronological test split, with what was known at cut-off."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from movierec.data.split import Split
from movierec.evaluation.baselines import BiasModel, popularity_scores
from movierec.evaluation.metrics import hits_matrix, mae, ndcg_at_k, precision_at_k, recall_curve, rmse
from movierec.evaluation.streaming import DEFAULT_SAMPLE, DEFAULT_SEED, FORMULA, HIT_KS, streaming_evaluate
from movierec.recommender import Recommender
from movierec.retrievers.history import HistoryBatch
from movierec.retrievers.source import Queries
from movierec.retrievers.topk import top_k_rows

RECALL_KS = (10, 50, 200)


def _relevant_sets(test: pd.DataFrame, users: np.ndarray, rows: np.ndarray, keep=None) -> list[set[int]]:
    frame = pd.DataFrame({"user_id": test["user_id"].to_numpy(), "row": rows})
    if keep is not None:
        frame = frame.loc[keep]
    grouped = frame.groupby("user_id")["row"].agg(set)
    return [grouped.get(u, set()) for u in users]


def _masked(scores: np.ndarray, seen_user_pos: np.ndarray, seen_rows: np.ndarray) -> np.ndarray:
    scores = np.array(scores, dtype=np.float64, copy=True)
    scores[seen_user_pos, seen_rows] = -np.inf
    return scores


def _at(curve: np.ndarray, k: int) -> float:
    """Recall@k from a curve; a catalogue shorter than k gives the recall of the whole ranked catalogue."""
    return float(curve[min(k, len(curve)) - 1]) if len(curve) else float("nan")


def _recall_summary(curve: np.ndarray, curve_seen: np.ndarray, curve_cold: np.ndarray) -> dict:
    out = {}
    for k in RECALL_KS:
        out[f"recall@{k}"] = _at(curve, k)
        out[f"recall@{k}_seen_users"] = _at(curve_seen, k)
        out[f"recall@{k}_unknown_users"] = _at(curve_cold, k)
    return out


def _hit_summary(ranked: np.ndarray, relevant: list[set[int]], known: np.ndarray, final_k: int) -> dict:
    """Static protocol, every test movie relevant: HR@k (any of them in the top k), NDCG@final_k (binary)."""
    hits = hits_matrix(ranked[:, : max(*HIT_KS, final_k)], relevant)
    ndcg = ndcg_at_k(ranked, relevant, final_k)
    out = {}
    for suffix, mask in (("", np.ones(len(known), bool)), ("_seen_users", known), ("_unknown_users", ~known)):
        for k in HIT_KS:
            out[f"hr@{k}{suffix}"] = float(hits[mask, :k].any(axis=1).mean()) if mask.any() else float("nan")
        out[f"ndcg@{final_k}{suffix}"] = float(ndcg[mask].mean()) if mask.any() else float("nan")
    return out


def rating_distributions(actual: np.ndarray, predicted: np.ndarray, scale) -> dict:
    """Counts of true ratings and of predictions rounded to the nearest step, per rating of the scale (values)."""
    values = np.asarray(scale.rating_values(), np.float64)

    def counts(ratings: np.ndarray) -> list[int]:
        on_scale = np.clip(
            np.rint(np.asarray(ratings, np.float64) / scale.rating_step) * scale.rating_step, *values[[0, -1]]
        )
        index = np.rint((on_scale - values[0]) / scale.rating_step).astype(np.int64)
        return np.bincount(index, minlength=len(values)).tolist()

    return {"values": values.tolist(), "true": counts(actual), "predicted_rounded": counts(predicted)}


def rating_predictions(recommender: Recommender, split: Split) -> pd.DataFrame:
    """Every test rating with the ranker's prediction, whether its user was seen in train and how often."""
    test, train = split.test, split.train
    space = recommender.space
    users, pair_user = np.unique(test["user_id"].to_numpy(), return_inverse=True)
    user_inputs = space.user_inputs(users)
    ranker = recommender.ranker
    pair_inputs, pair_vectors = ranker.pair_inputs(user_inputs, recommender.contexts.vectors(user_inputs), pair_user)
    predicted = ranker.predict(pair_inputs, pair_vectors, space.catalog_rows(test["movie_id"].to_numpy()))
    train_counts = train["user_id"].value_counts()
    return pd.DataFrame(
        {
            "user_id": test["user_id"].to_numpy(),
            "movie_id": test["movie_id"].to_numpy(),
            "rating": test["rating"].to_numpy(),
            "predicted": predicted,
            "known_user": test["user_id"].isin(train["user_id"]).to_numpy(),
            "train_ratings_of_user": test["user_id"].map(train_counts).fillna(0).astype(int).to_numpy(),
        }
    )


def evaluate(
    recommender: Recommender,
    split: Split,
    retrieve_k: int = 200,
    final_k: int = 10,
    recent_days: float = 30.0,
    chunk_users: int = 256,
    streaming_sample: int = DEFAULT_SAMPLE,
    streaming_seed: int = DEFAULT_SEED,
) -> dict:
    """Every figure of the report. Returns {"metrics": {...}, "curves": {...}, "distributions": {...}}.

    Static protocol: each test user's whole test period forecast once from the training period. Streaming
    protocol (movierec.evaluation.streaming): each test rating forecast from everything its user rated before it;
    the two-stage list there runs on a seeded sample of streaming_sample events (all when fewer).
    """
    space, train, test = recommender.space, split.train, split.test
    n_catalog = space.n_catalog
    users = np.unique(test["user_id"].to_numpy())
    known = np.isin(users, train["user_id"].to_numpy())
    test_rows = space.catalog_rows(test["movie_id"].to_numpy())
    relevant = _relevant_sets(test, users, test_rows)
    scale = recommender.description  # relevant in the final list: a test rating at or above its liked_threshold
    liked = _relevant_sets(test, users, test_rows, keep=(test["rating"] >= scale.liked_threshold).to_numpy())

    seen = train.loc[train["user_id"].isin(users)]
    seen_pos = np.searchsorted(users, seen["user_id"].to_numpy())
    seen_rows = space.catalog_rows(seen["movie_id"].to_numpy())

    # ---- retrieval: model and popularity baselines ranked by the same code ----------------------------
    user_inputs = space.user_inputs(users)
    user_vectors = recommender.contexts.vectors(user_inputs)
    k = min(retrieve_k, n_catalog)
    ranked = {}
    forecast = Queries(HistoryBatch.empty(len(users)), user_vectors)  # nobody is live: no history term is read
    static_scores = recommender.scorer.retrieval_scores(forecast)
    model_scores = _masked(static_scores, seen_pos, seen_rows)
    ranked["two_tower"] = top_k_rows(model_scores, k)
    for name, days in (("popularity_all", None), (f"popularity_{int(recent_days)}d", recent_days)):
        pop = popularity_scores(train, space.catalog_rows, n_catalog, days)
        ranked[name] = top_k_rows(_masked(np.broadcast_to(pop, (len(users), n_catalog)), seen_pos, seen_rows), k)
    curves, retrieval = {}, {}
    for name, top in ranked.items():
        curves[name] = recall_curve(top, relevant)
        curves[f"{name}_seen_users"] = recall_curve(top[known], [r for r, w in zip(relevant, known, strict=True) if w])
        curves[f"{name}_unknown_users"] = recall_curve(
            top[~known], [r for r, w in zip(relevant, known, strict=True) if not w]
        )
        retrieval[name] = _recall_summary(curves[name], curves[f"{name}_seen_users"], curves[f"{name}_unknown_users"])

    # ---- final list: retrieve k, rank with the ranker, keep final_k ----------------------------------
    top = ranked["two_tower"]
    final_all = np.empty_like(top)  # every retrieved candidate in the two-stage order
    by_rating = np.empty((len(users), final_k), dtype=np.int64)  # reference: ordering by the predicted rating alone
    formula_all = np.empty_like(top)  # reference: the formula's order, what the learned final stage replaces
    for start in range(0, len(users), chunk_users):
        stop = min(start + chunk_users, len(users))
        block = top[start:stop]
        order, _, predicted = recommender.two_stage.order(
            Queries(HistoryBatch.empty(stop - start), user_vectors[start:stop]),
            {key: value[start:stop] for key, value in user_inputs.items()},
            model_scores[start:stop],
            block,
        )
        final_all[start:stop] = np.take_along_axis(block, order, axis=1)
        formula = recommender.two_stage.formula_order(model_scores[start:stop], block, predicted)
        formula_all[start:stop] = np.take_along_axis(block, formula, axis=1)
        by_rating[start:stop] = np.take_along_axis(block, np.argsort(-predicted, axis=1, kind="stable")[:, :final_k], 1)
    final = final_all[:, :final_k]
    has_liked = np.array([len(r) > 0 for r in liked])
    liked_sets = [r for r, w in zip(liked, has_liked, strict=True) if w]
    lists = {
        "two_stage": final,
        FORMULA: formula_all[:, :final_k],
        "ranked_by_rating_only": by_rating,
        "retrieval_only": top[:, :final_k],
        f"popularity_{int(recent_days)}d": ranked[f"popularity_{int(recent_days)}d"][:, :final_k],
    }
    final_metrics = {}
    for name, chosen in lists.items():
        ndcg = ndcg_at_k(chosen[has_liked], liked_sets, final_k)
        prec = precision_at_k(chosen[has_liked], liked_sets, final_k)
        known_liked = known[has_liked]
        final_metrics[name] = {
            f"ndcg@{final_k}": float(ndcg.mean()),
            f"precision@{final_k}": float(prec.mean()),
            f"ndcg@{final_k}_seen_users": float(ndcg[known_liked].mean()) if known_liked.any() else float("nan"),
            f"ndcg@{final_k}_unknown_users": float(ndcg[~known_liked].mean()) if (~known_liked).any() else float("nan"),
        }

    # ---- static protocol with every test movie relevant (hit rate, binary NDCG) -----------------------
    static = {
        "two_tower": _hit_summary(top, relevant, known, final_k),
        "two_stage": _hit_summary(final_all, relevant, known, final_k),
        FORMULA: _hit_summary(formula_all, relevant, known, final_k),
        **{name: _hit_summary(ranked[name], relevant, known, final_k) for name in ranked if name != "two_tower"},
    }

    # ---- streaming protocol: each test rating forecast from everything before it ------------------------
    started = time.perf_counter()
    streaming = streaming_evaluate(recommender, split, k, streaming_sample, streaming_seed)["metrics"]
    streaming["seconds"] = round(time.perf_counter() - started, 1)

    # ---- rating prediction on every test rating --------------------------------------------------------
    pairs = rating_predictions(recommender, split)
    predicted, actual, test_known = (
        pairs["predicted"].to_numpy(),
        pairs["rating"].to_numpy(),
        pairs["known_user"].to_numpy(),
    )
    bias = BiasModel().fit(train)
    predictions = {
        "ranker": predicted,
        "global_mean": np.full(len(test), float(train["rating"].mean())),
        "bias": bias.predict(
            test["user_id"].to_numpy(), test["movie_id"].to_numpy(), (scale.rating_min, scale.rating_max)
        ),
    }
    rating = {}
    for name, pred in predictions.items():
        rating[name] = {
            "rmse": rmse(pred, actual),
            "mae": mae(pred, actual),
            "rmse_seen_users": rmse(pred[test_known], actual[test_known]),
            "rmse_unknown_users": rmse(pred[~test_known], actual[~test_known]),
        }

    metrics = {
        "retrieval": retrieval,
        "final_list": final_metrics,
        "rating": rating,
        "static": static,
        "streaming": streaming,
        "counts": {
            "test_users": int(len(users)),
            "test_users_unknown": int((~known).sum()),
            "test_users_with_liked": int(has_liked.sum()),
            "test_ratings": int(len(test)),
            "test_ratings_unknown_users": int((~test_known).sum()),
            "retrieve_k": int(k),
            "final_k": int(final_k),
            "liked_threshold": float(scale.liked_threshold),
        },
    }
    return {
        "metrics": metrics,
        "curves": {name: curve.tolist() for name, curve in curves.items()},
        "distributions": rating_distributions(actual, predicted, scale),
    }
