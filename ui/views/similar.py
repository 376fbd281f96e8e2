"""Similar movies page: search a title and list its nearest movies by the movie-tower vectors."""

import streamlit as st

from ui import api
from ui.format import movies_table

st.title("Similar movies")
query = st.text_input("Search a title", value="Toy Story")
k = st.slider("How many", 5, 50, 10)
if query and (found := api.search_movies(query, 20)):
    movie = st.selectbox("Movie", found, format_func=lambda m: m["title"])
    try:
        body = api.get(f"/movie/{movie['movie_id']}/similar", {"k": k})
    except api.ApiError as error:
        api.show_error(error)
    info = body["movie"]
    mean = f"{info['rating_mean']:.2f}" if info["rating_mean"] is not None else "—"
    st.markdown(
        f"**{info['title']}** · {', '.join(info['genres'])} · "
        f"{info['rating_count']} ratings before the cut-off, mean {mean}"
    )
    st.dataframe(movies_table(body["similar"], "similarity"), hide_index=True, use_container_width=True)
