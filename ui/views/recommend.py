"""Recommend page: choose a user (in the URL), see their list at once, rate movies in place."""

import streamlit as st

from ui import api, cards, prefs
from ui.format import display_title, escape, profile_line

st.title("Movies for you")

vocabulary = api.or_trouble(api.get, "/vocabulary")
stats = api.or_trouble(api.get, "/stats")
user_id, user = prefs.picked_user(stats, "list")

st.markdown(f"**User {user_id}** · {profile_line(user, vocabulary)}")
if user["top_rated"]:
    favourites = ", ".join(f"*{escape(display_title(m['title']))}*" for m in user["top_rated"][:3])
    st.caption(f"Loves {favourites}. More on the Profile page.")
else:
    st.info(
        "This user has not rated anything yet, so the list comes from age, gender and occupation alone. "
        "Rate a movie below and the list follows at once.",
        icon=":material/info:",
    )

settings = prefs.list_settings(vocabulary["genres"], stats["movies"], vocabulary.get("models", ["two_stage"]))
payload = {
    "user_id": user_id,
    "model": settings["model"],
    "top_k_retrieve": settings["k"],
    "top_n_final": min(settings["n"], settings["k"]),
    "exclude_seen": not settings["seen"],
}
if settings["genres"]:
    payload["genres"] = settings["genres"]
cards.flash()
try:
    body, latency_ms = api.or_trouble(api.send, "POST", "/recommend", payload)
except api.ApiError as error:
    st.warning(f"No list: {error}")
    st.stop()
rated = {}
if settings["seen"] and user["rating_count"]:
    rated = {r["movie_id"]: r["rating"] for r in api.or_trouble(api.user_ratings, user_id)[0]}

recommendations = body["recommendations"]
if not recommendations:
    st.warning("No movie matches these settings: try fewer genres or more candidates.")
else:
    st.caption(cards.order_note(body["model"]))
    cards.recommendation_cards(recommendations, user_id, rated, body["model"])
    st.caption(f"{len(recommendations)} movies · answered in {latency_ms:.0f} ms")
