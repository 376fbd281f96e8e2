"""Profile page: a user's ratings over time and their genre mix next to the genre mix of their recommendations."""

import altair as alt
import pandas as pd
import streamlit as st

from ui import api, prefs
from ui.format import display_title, profile_line, stars

GENRE_SAMPLE = 200  # genres of the latest 200 rated movies (one cached look-up each)
REC_SAMPLE = 50

st.title("Profile")

vocabulary = api.or_trouble(api.get, "/vocabulary")
stats = api.or_trouble(api.get, "/stats")
user_id, user = prefs.picked_user(stats, "profile")

st.markdown(f"**User {user_id}** · {profile_line(user, vocabulary)}")
ratings, total = api.or_trouble(api.user_ratings, user_id)
if not ratings:
    st.info("No ratings yet: nothing to chart. Rate movies on the Recommend or New here? page.")
    st.stop()

frame = pd.DataFrame(ratings)
frame["rated_at"] = pd.to_datetime(frame["rated_at"], utc=True)
frame["month"] = frame["rated_at"].dt.tz_convert(None).dt.to_period("M").dt.to_timestamp()
frame["source"] = frame["source"].map({"dataset": "MovieLens (training period)", "live": "rated here"})

st.subheader("Ratings over time")
monthly = frame.groupby(["month", "source"]).agg(ratings=("rating", "size"), mean=("rating", "mean")).reset_index()
st.altair_chart(
    alt.Chart(monthly)
    .mark_bar()
    .encode(
        x=alt.X("yearmonth(month):T", title="month", axis=alt.Axis(labelAngle=0)),
        y=alt.Y("ratings:Q", title="ratings given"),
        color=alt.Color("source:N", title=None, legend=alt.Legend(orient="top")),
        tooltip=[
            alt.Tooltip("yearmonth(month):T", title="month"),
            "source",
            "ratings",
            alt.Tooltip("mean:Q", format=".1f", title="mean stars"),
        ],
    ),
    width="stretch",
)
shown = f"{len(ratings)} of {total}" if total > len(ratings) else f"{total}"
st.caption(f"{shown} ratings, mean {frame['rating'].mean():.1f} stars.")


@st.cache_data(ttl=api.CACHE_TTL_S, show_spinner=False)
def genres_of(movie_id: int) -> list[str]:
    return api.get(f"/movie/{movie_id}")["genres"]


def shares(genre_lists: list[list[str]]) -> pd.Series:
    """Share of movies in each genre (a movie with two genres counts for both)."""
    counts = pd.Series([g for genres in genre_lists for g in genres]).value_counts()
    return counts / max(1, len(genre_lists))


st.subheader("Genre mix: what you rated vs what we recommend")
latest = ratings[:GENRE_SAMPLE]
rated_genres = [api.or_trouble(genres_of, r["movie_id"]) for r in latest if r["title"] is not None]
body, _ = api.or_trouble(api.send, "POST", "/recommend", {"user_id": user_id, "top_n_final": REC_SAMPLE})
rec_genres = [r["genres"] for r in body["recommendations"]]
mix = pd.DataFrame({"your ratings": shares(rated_genres), "your recommendations": shares(rec_genres)}).fillna(0.0)
mix = mix.sort_values("your ratings", ascending=False).reset_index(names="genre")
long = mix.melt(id_vars="genre", var_name="list", value_name="share")
st.altair_chart(
    alt.Chart(long)
    .mark_bar()
    .encode(
        y=alt.Y("genre:N", sort=list(mix["genre"]), title=None),
        x=alt.X("share:Q", title="share of movies", axis=alt.Axis(format="%")),
        yOffset="list:N",
        color=alt.Color("list:N", title=None, legend=alt.Legend(orient="top")),
        tooltip=["genre", "list", alt.Tooltip("share:Q", format=".0%")],
    ),
    width="stretch",
)
st.caption(
    f"Your latest {len(rated_genres)} rated movies against your top {len(rec_genres)} recommendations "
    "(a movie with two genres counts for both)."
)

st.subheader("Latest ratings")
for r in ratings[:10]:
    st.markdown(f"{stars(r['rating'])} · {display_title(r['title'] or str(r['movie_id']))} · {r['rated_at'][:10]}")
