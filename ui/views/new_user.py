"""New here? page: describe yourself, rate a few movies, get recommendations that follow your ratings."""

import streamlit as st

from ui import api
from ui.format import recommendations_table

MIN_RATINGS, MAX_RATINGS = 3, 20

st.title("New here? Rate a few movies")

try:
    vocabulary = api.get("/vocabulary")
except api.ApiError as error:
    api.show_error(error)

if "my_ratings" not in st.session_state:
    st.session_state.my_ratings = {}  # movie_id -> {"title", "rating"}
ratings = st.session_state.my_ratings

c1, c2, c3 = st.columns(3)
gender = c1.radio("Gender", ["F", "M"], format_func=vocabulary["genders"].get, horizontal=True)
age = c2.selectbox("Age", list(vocabulary["age_groups"]), index=2, format_func=vocabulary["age_groups"].get)
occupation = c3.selectbox(
    "Occupation", list(vocabulary["occupations"]), index=12, format_func=vocabulary["occupations"].get
)

st.subheader(f"Rate {MIN_RATINGS}-{MAX_RATINGS} movies")
query = st.text_input("Search the catalogue", placeholder="e.g. toy story, alien, godfather")
if query and (found := api.search_movies(query, 15)):
    with st.form("add_rating", clear_on_submit=False):
        choice = st.selectbox("Movie", found, format_func=lambda m: m["title"])
        stars = st.slider("Your rating", 1, 5, 4)
        if st.form_submit_button("Add rating", disabled=len(ratings) >= MAX_RATINGS):
            ratings[choice["movie_id"]] = {"title": choice["title"], "rating": stars}

if ratings:
    for movie_id, item in list(ratings.items()):
        col_title, col_rating, col_remove = st.columns([6, 2, 1])
        col_title.write(item["title"])
        item["rating"] = col_rating.select_slider(
            "rating", [1, 2, 3, 4, 5], value=item["rating"], key=f"rating_{movie_id}", label_visibility="collapsed"
        )
        if col_remove.button("✕", key=f"remove_{movie_id}"):
            del ratings[movie_id]
            st.rerun()

if len(ratings) < MIN_RATINGS:
    st.info(f"Rate at least {MIN_RATINGS} movies to get recommendations ({len(ratings)} so far).")
else:
    payload = {
        "profile": {"gender": gender, "age": int(age), "occupation": int(occupation)},
        "ratings": [{"movie_id": m, "rating": item["rating"]} for m, item in ratings.items()],
        "top_n_final": 10,
    }
    try:
        body, latency_ms = api.post("/recommend", payload)
    except api.ApiError as error:
        api.show_error(error)
    st.subheader("Recommended for you")
    st.caption(f"API latency: {latency_ms:.1f} ms")
    st.dataframe(recommendations_table(body["recommendations"]), hide_index=True, use_container_width=True)
