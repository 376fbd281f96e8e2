"""New here? page: create a profile that is kept (POST /users), rate movies with stars, get a list that follows."""

import streamlit as st

from ui import api, cards
from ui.format import display_title, movie_heading

MIN_RATINGS = 3  # below this the list leans mostly on demographics
HISTORY = 100  # the model reads a user's latest 100 ratings

st.title("New here?")

vocabulary = api.or_trouble(api.get, "/vocabulary")
stats = api.or_trouble(api.get, "/stats")


def _me() -> int | None:
    """The profile created in this browser: ?me= in the URL (survives reload), else this session's."""
    raw = st.query_params.get("me") or st.session_state.get("me")
    try:
        me = int(raw) if raw is not None else None
    except ValueError:
        me = None
    if me is not None and me <= stats["users"]:
        me = None  # dataset users are browsed on the Recommend page
    if me is not None:
        st.session_state["me"] = me
        st.query_params["me"] = str(me)
    return me


def _create(gender: str | None, age: str | None, occupation: str | None) -> None:
    profile = {}
    if gender:
        profile["gender"] = gender
    if age:
        profile["age"] = int(age)
    if occupation:
        profile["occupation"] = int(occupation)
    try:
        body, _ = api.send("POST", "/users", profile)
    except api.ApiError as error:
        st.session_state["_flash"] = ("error", f"Your profile was not created: {error}")
        return
    st.session_state["me"] = body["user_id"]
    st.query_params["me"] = str(body["user_id"])


def _forget_me() -> None:
    st.session_state.pop("me", None)
    st.query_params.pop("me", None)


me = _me()
cards.flash()
if me is None:
    st.markdown(
        "Rate a few movies you have seen and get a list that follows your taste. "
        "Your profile is kept: you get a number and a link to come back to it."
    )
    st.markdown(
        f"- Ratings are whole stars, 1 to 5; you can change or remove any of them.\n"
        f"- From {MIN_RATINGS} ratings on the list follows your taste; before that it leans on the details below.\n"
        f"- Rate as many movies as you like: the list follows your latest {HISTORY}."
    )
    with st.form("profile"):
        st.caption("About you (optional: helps before you have rated much)")
        c1, c2, c3 = st.columns(3)
        gender = c1.selectbox(
            "Gender", [None, *vocabulary["genders"]], format_func=lambda g: vocabulary["genders"].get(g, "—")
        )
        age = c2.selectbox(
            "Age", [None, *vocabulary["age_groups"]], format_func=lambda a: vocabulary["age_groups"].get(a, "—")
        )
        occupation = c3.selectbox(
            "Occupation",
            [None, *vocabulary["occupations"]],
            format_func=lambda o: vocabulary["occupations"].get(o, "—"),
        )
        if st.form_submit_button("Create my profile", type="primary"):
            _create(gender, age, occupation)
            st.rerun()
    st.stop()

try:
    mine, total = api.or_trouble(api.user_ratings, me, "live")
except api.ApiError as error:
    st.warning(f"Profile {me} could not be opened: {error}")
    st.button("Start a new profile", on_click=_forget_me)
    st.stop()

st.success(
    f"You are user **{me}**. Bookmark [this link](/new?me={me}) to come back to your ratings; "
    f"your list is also at [Recommend](/?user={me}).",
    icon=":material/bookmark:",
)

st.subheader("Find movies you have seen")
query = st.text_input("Search titles", placeholder="e.g. the godfather, toy story, star wars iv", key="new_query")
if query:
    found = api.or_trouble(api.search_movies, query, 10)
    rated_ids = {r["movie_id"]: r["rating"] for r in mine}
    for movie in found["movies"]:
        with st.container(border=True, key=f"found_{movie['movie_id']}"):
            left, right = st.columns([3, 1], vertical_alignment="center")
            left.markdown(movie_heading(movie["title"], movie["year"]))
            with right:
                cards.rate_widget(
                    me, movie["movie_id"], movie["title"], rated_ids.get(movie["movie_id"]), where="found"
                )

st.subheader(f"Your ratings ({total})")
if not mine:
    st.info(f"Nothing rated yet: search above and give a few movies stars ({MIN_RATINGS} or more).")
for rating in mine:
    with st.container(border=True, key=f"mine_{rating['movie_id']}"):
        left, right = st.columns([3, 1], vertical_alignment="center")
        left.markdown(f"**{display_title(rating['title'] or str(rating['movie_id']))}**")
        with right:
            cards.rate_widget(me, rating["movie_id"], rating["title"] or "", rating["rating"], "Your rating", "mine")
            if st.button("Remove", key=f"remove_{rating['movie_id']}", icon=":material/close:"):
                api.or_trouble(api.send, "DELETE", f"/users/{me}/ratings/{rating['movie_id']}")
                st.rerun()

st.subheader("Recommended for you")
if len(mine) < MIN_RATINGS:
    st.caption(f"{len(mine)} of {MIN_RATINGS} ratings so far: this list leans on your profile details for now.")
body, latency_ms = api.or_trouble(api.send, "POST", "/recommend", {"user_id": me, "top_n_final": 10})
st.caption(cards.ORDER_NOTE)
cards.recommendation_cards(body["recommendations"], me, {})
st.button("Start over as someone else", on_click=_forget_me, icon=":material/logout:")
