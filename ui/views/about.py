"""About page: what the model is, how it was evaluated (static and streaming), its figures against baselines."""

import re

import altair as alt
import pandas as pd
import streamlit as st

from ui import api
from ui.format import model_label

NAMES = {
    "two_tower": "Our model (two-tower)",
    "two_stage": "Our model (retrieve, then rank)",
    "ranker": "Our model (rating predictor)",
    "popularity_all": "Most popular overall",
    "bias": "Average, adjusted per user and movie",
    "global_mean": "Everyone's average rating",
    "by_predicted_rating": "Ordered by predicted rating only",
    "retrieval_order": "First stage only (no ranking)",
    "retrieval": "Our model, first stage only",
    "retrieval_liked": "Our model, first stage only: movies rated 4-5",
    "two_stage_liked": "Our model (retrieve, then rank): movies rated 4-5",
}
METRICS = {
    "recall": "**Recall@K**: of the movies a person rated in the test period, the share found in their top K.",
    "ndcg": "**NDCG@10**: whether the movies a person liked (4-5 stars) come near the top of their 10; 1 is perfect.",
    "precision": "**Precision@10**: the share of the 10 suggestions that the person went on to rate 4-5 stars.",
    "hr": "**Hit rate@K**: the share of lists with at least one right movie among the first K.",
    "rmse": "**RMSE**: the typical gap, in stars, between predicted and actual rating; lower is better.",
    "mae": "**MAE**: the average gap, in stars, between predicted and actual rating; lower is better.",
}
USERS = {"": "all users", "seen_users": "users with earlier ratings", "unknown_users": "new users (no earlier ratings)"}
AT_K = re.compile(r"^(?P<metric>[a-z]+)@(?P<k>\d+)(?:_(?P<users>seen_users|unknown_users))?$")


def plain(name: str) -> str:
    if name in NAMES:
        return NAMES[name]
    if match := re.fullmatch(r"popularity_(\d+)d", name):
        return f"Most popular, last {match[1]} days"
    return name.replace("_", " ")


def at_k_long(table: dict) -> pd.DataFrame:
    """{model: {"recall@10_seen_users": v}} -> rows (model, metric, K, users, value)."""
    rows = []
    for model, values in table.items():
        if not isinstance(values, dict):
            continue
        for key, value in values.items():
            match = AT_K.match(key)
            if match and isinstance(value, (int, float)) and value == value:  # NaN: an empty group
                users = USERS[match["users"] or ""]
                rows.append((plain(model), match["metric"], int(match["k"]), users, float(value)))
    return pd.DataFrame(rows, columns=["model", "metric", "K", "users", "value"])


def streaming_table(streaming) -> dict:
    """{model: figures} of the streaming protocol: first stage and popularity on every test event, the two-stage
    list on the report's seeded sample (movierec.evaluation.streaming)."""
    if not isinstance(streaming, dict):
        return {}
    every, sample = streaming.get("all_events", {}), streaming.get("sample_events", {})
    table = {name: figures for name, figures in every.items() if isinstance(figures, dict)}
    if isinstance(sample.get("two_stage"), dict):
        table["two_stage"] = sample["two_stage"]
    liked = streaming.get("liked_sample_events")  # reports written before it was measured have none
    if isinstance(liked, dict):
        table.update({f"{name}_liked": figures for name, figures in liked.items() if isinstance(figures, dict)})
    return table


def every_method(metrics: dict) -> pd.DataFrame:
    """Our list and each classic method on the same split: static hit rate, NDCG and recall, streaming hit rate and
    NDCG (the methods on the same sampled events as our list)."""
    columns = ["static HR@10", "static NDCG@10", "static recall@200", "streaming HR@10", "streaming NDCG@10"]
    nan = float("nan")

    def row(hits: dict, recall: dict, streaming: dict) -> list[float]:
        return [
            hits.get("hr@10", nan),
            hits.get("ndcg@10", nan),
            recall.get("recall@200", nan),
            streaming.get("hr@10", nan),
            streaming.get("ndcg@10", nan),
        ]

    rows = {}
    if "static" in metrics:
        sample = metrics.get("streaming", {}).get("sample_events", {})
        rows[model_label("two_stage")] = row(
            metrics["static"].get("two_stage", {}),
            metrics["retrieval"].get("two_tower", {}),
            sample.get("two_stage", {}),
        )
    for name, result in metrics.get("peers", {}).get("methods", {}).items():
        static = result.get("static", {})
        rows[model_label(name)] = row(static.get("hits", {}), static.get("retrieval", {}), result.get("streaming", {}))
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def k_chart(long: pd.DataFrame, metric: str, title: str) -> None:
    data = long[(long["metric"] == metric) & (long["users"] == "all users")]
    if data.empty:
        return
    ks = sorted(data["K"].unique())
    st.altair_chart(
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("K:O", sort=ks, title="list length K", axis=alt.Axis(labelAngle=0)),
            xOffset=alt.XOffset("model:N"),
            y=alt.Y("value:Q", title=title, axis=alt.Axis(format="%")),
            color=alt.Color("model:N", title=None, legend=alt.Legend(orient="top", columns=1, labelLimit=0)),
            tooltip=["model", "K", alt.Tooltip("value:Q", format=".2%")],
        ),
        width="stretch",
    )


def table(long: pd.DataFrame, metric_label) -> None:
    if long.empty:
        return
    long = long.assign(order=long["users"].map(list(USERS.values()).index)).sort_values(["metric", "order", "K"])
    labels = [metric_label(m, k, u) for m, k, u in zip(long["metric"], long["K"], long["users"], strict=True)]
    wide = long.assign(column=labels)
    wide = wide.pivot_table(index="model", columns="column", values="value", sort=False)
    st.dataframe(wide.style.format("{:.3f}"), width="stretch")


st.title("About")
try:
    stats = api.or_trouble(api.get, "/stats")
except api.ApiError as error:
    st.warning(str(error))
    st.stop()

dataset = api.or_trouble(api.get, "/vocabulary").get("dataset", "")
st.markdown(
    f"Movie suggestions learned from the **MovieLens** ratings dataset `{dataset}`. Two steps: the first picks a few "
    "hundred candidates from the whole catalogue by comparing a profile of you (your ratings, and your age, gender "
    "and occupation where the dataset has them) with a profile of each movie, adding what usually follows the movies "
    "you rated last once you rate, and what people were rating lately until then; the second predicts your rating of "
    "each candidate and orders them by how likely you are to watch and like them next."
)
st.caption(
    f"Model version {stats['bundle_version']}: {stats['users']:,} users, {stats['movies']:,} movies, "
    f"{stats['train_ratings']:,} training ratings."
)
metrics = stats["metrics"]

st.header("How it was tested")
st.markdown(
    "**Static protocol.** All ratings are put in time order; the first 80% train the model, the last 20% test it. "
    "Each person's whole test period is predicted once, from what they rated before the cut: the test asks "
    "*does the list contain what they went on to watch?*\n\n"
    "**Streaming protocol.** Every test rating is predicted from everything the person rated before it, "
    "as a live system would: *after each rating, does the next list contain the next movie?*"
)

st.subheader("Finding the right movies (static)")
retrieval = at_k_long(metrics.get("retrieval", {}))
k_chart(retrieval, "recall", "recall")
st.markdown(METRICS["recall"])
table(retrieval[retrieval["metric"] == "recall"], lambda m, k, u: f"recall@{k}, {u}")

final = at_k_long(metrics.get("final_list", {}))
if not final.empty:
    st.subheader("The final list of 10 (static)")
    table(final, lambda m, k, u: f"{m}@{k}, {u}")
    st.markdown(METRICS["ndcg"] + "  \n" + METRICS["precision"])

if "rating" in metrics:
    st.subheader("Predicting the rating (static)")
    rows = [
        (plain(model), label, float(values[key]))
        for model, values in metrics["rating"].items()
        for key, label in (
            ("rmse", "all users"),
            ("rmse_seen_users", USERS["seen_users"]),
            ("rmse_unknown_users", USERS["unknown_users"]),
        )
        if key in values
    ]
    rmse = pd.DataFrame(rows, columns=["model", "users", "RMSE"])
    st.altair_chart(
        alt.Chart(rmse)
        .mark_point(filled=True, size=120)
        .properties(height=70 * rmse["model"].nunique())
        .encode(
            x=alt.X("RMSE:Q", scale=alt.Scale(zero=False), title="RMSE in stars (lower is better; axis not from 0)"),
            y=alt.Y("model:N", title=None, sort=alt.EncodingSortField("RMSE", op="min"), axis=alt.Axis(labelLimit=320)),
            color=alt.Color("users:N", title=None, legend=alt.Legend(orient="top", labelLimit=0)),
            shape=alt.Shape("users:N", title=None),
            tooltip=["model", "users", alt.Tooltip("RMSE:Q", format=".4f")],
        ),
        width="stretch",
    )
    st.markdown(METRICS["rmse"] + "  \n" + METRICS["mae"])

st.subheader("Streaming")
streaming = at_k_long(streaming_table(metrics.get("streaming")))
if streaming.empty:
    st.info("This model version has no streaming evaluation in its report.")
else:
    k_chart(streaming, "hr", "hit rate")
    st.markdown(METRICS["hr"] + "  \n" + METRICS["ndcg"])
    if streaming["model"].str.endswith("4-5").any():
        st.markdown(
            "The rows *movies rated 4-5* keep only the ratings a person gave 4 or 5 stars. Ranking puts the movies "
            "someone will like first, so it moves down what they would rate low: that costs it on every rating "
            "and not on these."
        )
    table(streaming, lambda m, k, u: f"{m}@{k}, {u}")

peers = every_method(metrics)
if len(peers) > 1:
    st.subheader("Against the classic methods")
    st.markdown(
        "The same training period, test users and measures for the methods other recommenders use: EASE, item-KNN, "
        "user-KNN, matrix factorisation, the most rated movies, the best rated ones and what people rated next. "
        "Each can make your list on the Recommend page (*Recommended by*). HR@10 and NDCG@10 here count every test "
        "movie as right."
    )
    st.dataframe(peers.style.format("{:.3f}", na_rep="-"), width="stretch")

if dataset == "ml-1m" and len(peers):
    st.subheader("Reference figures")
    st.markdown(
        "SASRec, a published sequential model, on this exact split of MovieLens-1M in *Time to Split* (Gusak et al., "
        "RecSys 2025), as published there (not rerun here), next to our model's figures above."
    )
    ours = peers.iloc[0]
    st.dataframe(
        pd.DataFrame(
            [
                ("static", "HR@10", "0.65-0.70", ours["static HR@10"]),
                ("static", "NDCG@10", "0.22-0.25", ours["static NDCG@10"]),
                ("streaming", "HR@10", "0.19-0.23", ours["streaming HR@10"]),
                ("streaming", "NDCG@10", "0.10-0.12", ours["streaming NDCG@10"]),
            ],
            columns=["protocol", "measure", "SASRec (Time to Split)", "our model"],
        ).style.format({"our model": "{:.3f}"}),
        hide_index=True,
        width="stretch",
    )
