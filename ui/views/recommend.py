"""Recommend page: pick a MovieLens user, see their profile, get two-stage recommendations."""

import random

import pandas as pd
import streamlit as st

from ui import api
from ui.format import recommendations_table

st.title("Recommendations for a MovieLens user")

try:
    vocabulary = api.get("/vocabulary")
    stats = api.get("/stats")
except api.ApiError as error:
    api.show_error(error)

n_users, n_movies = stats["users"], stats["movies"]
if "user_id" not in st.session_state:
    st.session_state.user_id = 1

left, right = st.columns([3, 1])
with right:
    if st.button("Random user", icon=":material/casino:", use_container_width=True):
        st.session_state.user_id = random.randint(1, n_users)
with left:
    st.number_input(f"User id (1-{n_users})", min_value=1, max_value=n_users, step=1, key="user_id")
user_id = int(st.session_state.user_id)

try:
    user = api.get(f"/user/{user_id}")
except api.ApiError as error:
    api.show_error(error)

age = vocabulary["age_groups"].get(str(user["age"]), user["age"])
occupation = vocabulary["occupations"].get(str(user["occupation"]), user["occupation"])
gender = vocabulary["genders"].get(user["gender"], user["gender"])
st.markdown(f"**User {user_id}** · {gender} · {age} · {occupation} · {user['rating_count']} ratings before the cut-off")
if user["top_rated"]:
    with st.expander("Movies this user rated highly", expanded=False):
        st.dataframe(pd.DataFrame(user["top_rated"])[["title", "rating"]], hide_index=True, use_container_width=True)
else:
    st.info("This user has no ratings before the cut-off: recommendations come from demographics alone.")

with st.form("recommend"):
    c1, c2, c3 = st.columns(3)
    top_k = c1.slider("Candidates retrieved", 10, min(1000, n_movies), min(200, n_movies), step=10)
    top_n = c2.slider("Results shown", 1, 50, 10)
    genres = c3.multiselect("Only these genres (optional)", vocabulary["genres"])
    exclude_seen = st.checkbox("Hide movies the user already rated", value=True)
    submitted = st.form_submit_button("Recommend", type="primary")

if submitted:
    payload = {
        "user_id": user_id,
        "top_k_retrieve": top_k,
        "top_n_final": min(top_n, top_k),
        "exclude_seen": exclude_seen,
    }
    if genres:
        payload["genres"] = genres
    try:
        body, latency_ms = api.post("/recommend", payload)
    except api.ApiError as error:
        api.show_error(error)
    st.caption(f"API latency: {latency_ms:.1f} ms round trip ({body['server_ms']:.1f} ms in the server)")
    if body["recommendations"]:
        st.dataframe(recommendations_table(body["recommendations"]), hide_index=True, use_container_width=True)
    else:
        st.warning("No movie matches these filters.")
