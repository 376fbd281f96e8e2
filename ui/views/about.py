"""About page: the bundle's offline evaluation (model vs baselines) from /stats."""

import pandas as pd
import streamlit as st

from ui import api

st.title("About this model")
try:
    stats = api.get("/stats")
except api.ApiError as error:
    api.show_error(error)

st.markdown(
    "Two-stage recommender trained on MovieLens-1M with a chronological 80/20 split: a **two-tower retrieval** "
    "model picks candidates from the whole catalogue, a **DNN ranker** predicts each candidate's rating. "
    f"Bundle `{stats['bundle_version']}`: {stats['users']:,} users, {stats['movies']:,} movies, "
    f"{stats['train_ratings']:,} training ratings."
)
metrics = stats["metrics"]
if "retrieval" in metrics:
    retrieval = pd.DataFrame(metrics["retrieval"]).T
    columns = [
        c
        for c in ("recall@10", "recall@50", "recall@200", "recall@200_seen_users", "recall@200_unknown_users")
        if c in retrieval
    ]
    st.subheader("Retrieval: Recall@K on the test period")
    st.dataframe(retrieval[columns].style.format("{:.4f}"), use_container_width=True)
    st.bar_chart(retrieval[[c for c in columns if c.count("_") == 0]], stack=False)
if "final_list" in metrics:
    st.subheader("Final list (retrieve, rank, keep 10)")
    st.dataframe(pd.DataFrame(metrics["final_list"]).T.style.format("{:.4f}"), use_container_width=True)
if "rating" in metrics:
    rating = pd.DataFrame(metrics["rating"]).T
    st.subheader("Rating prediction: RMSE (lower is better)")
    st.dataframe(rating.style.format("{:.4f}"), use_container_width=True)
    st.bar_chart(rating[["rmse", "rmse_seen_users", "rmse_unknown_users"]], stack=False)
