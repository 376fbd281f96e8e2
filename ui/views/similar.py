"""Similar movies page: find a title forgivingly, list its nearest movies by the model's movie vectors."""

import streamlit as st

from ui import api, cards
from ui.format import display_title, genre_chips, movie_heading

st.title("Similar movies")
query = st.text_input("Find a movie", value="Toy Story", key="similar_query", placeholder="e.g. the godfather")
k = st.slider("How many similar movies", 5, 50, 10, key="similar_k")
if not query.strip():
    st.stop()
found = api.or_trouble(api.search_movies, query, 20)
if not found["movies"]:
    st.stop()
movie = st.selectbox(
    "Movie",
    found["movies"],
    format_func=lambda m: f"{display_title(m['title'])} ({m['year']})" if m["year"] else display_title(m["title"]),
)
body = api.or_trouble(api.get, f"/movie/{movie['movie_id']}/similar", {"k": k})
info = body["movie"]
mean = f", average {info['rating_mean']:.1f} stars" if info["rating_mean"] is not None else ""
with st.container(border=True, key="similar_to"):
    st.markdown(f"Movies like {movie_heading(info['title'], info['year'])}")
    st.markdown(genre_chips(info["genres"]))
    st.caption(f"{info['rating_count']} ratings in the training period{mean}")
st.caption("Closest first: movies that the same people tend to like, by the model's movie profiles.")
cards.movie_cards(body["similar"], note="similarity")
