"""The user and the list settings, kept in the URL (`?user=…&n=…`) so they survive navigation and reload."""

from __future__ import annotations

import random

import streamlit as st

from ui import api
from ui.format import model_label

MAX_ID = 2**31 - 1
DEFAULT_N, MAX_N = 10, 50
DEFAULT_K = 200


def examples() -> dict:
    """GET /users/examples: {"rich_history", "rich_history_ratings", "no_history"}."""
    return api.or_trouble(api.get, "/users/examples")


def _pick(user_id: int) -> None:
    st.session_state["user"] = user_id


def user_picker(n_users: int, example: dict) -> int:
    """The user id box (bound to ?user=), a random user, and the two example users; returns the chosen id."""
    user_id = st.number_input(
        "User id",
        min_value=1,
        max_value=MAX_ID,
        value=example["rich_history"],
        step=1,
        key="user",
        bind="query-params",
        persist_state="session",
        width=240,
        help=f"MovieLens users are 1-{n_users}; people who joined on “New here?” have higher ids.",
    )
    with st.container(horizontal=True, key="user_examples"):
        st.button("Random user", icon=":material/casino:", on_click=_pick, args=(random.randint(1, n_users),))
        st.button(
            "A user with a rich history",
            help=f"user {example['rich_history']}: {example['rich_history_ratings']} ratings",
            on_click=_pick,
            args=(example["rich_history"],),
        )
        if example.get("no_history"):
            st.button(
                "A user with no history",
                help=f"user {example['no_history']}: no ratings yet, so only age, gender and occupation count",
                on_click=_pick,
                args=(example["no_history"],),
            )
    return int(user_id)


def unknown_user(user_id: int, n_users: int) -> str:
    """The 404 of a user id, in words for people."""
    return (
        f"There is no user {user_id}. MovieLens users are 1-{n_users}; "
        "people who joined on “New here?” have higher ids."
    )


def picked_user(stats: dict, what: str) -> tuple[int, dict]:
    """The user chosen in the picker (bound to the URL) and their profile; for an id that is no user, a warning
    naming what cannot be shown ("list", "profile") and the page stops."""
    user_id = user_picker(stats["users"], examples())
    try:
        user = api.or_trouble(api.get, f"/user/{user_id}")
    except api.ApiError as error:
        reason = unknown_user(user_id, stats["users"]) if error.status == 404 else str(error)
        st.warning(f"No {what} for user {user_id}. {reason}", icon=":material/person_off:")
        st.stop()
    return user_id, user


def list_settings(genres: list[str], n_movies: int, models: list[str]) -> dict:
    """Model, results shown, candidates, genres, already-rated movies: each bound to the URL."""
    model = st.selectbox(
        "Recommended by",
        models,
        format_func=model_label,
        key="model",
        bind="query-params",
        persist_state="session",
        width=320,
        help="our two-stage model, or one of the classic methods it is measured against (same data, same split)",
    )
    with st.expander("Settings", icon=":material/tune:"):
        left, right = st.columns(2)
        n = left.slider("Movies shown", 1, MAX_N, DEFAULT_N, key="n", bind="query-params", persist_state="session")
        k = right.slider(
            "Candidates considered",
            10,
            max(10, min(1000, n_movies)),
            min(DEFAULT_K, n_movies),
            step=10,
            key="k",
            bind="query-params",
            persist_state="session",
            help="how many movies the first stage picks from the whole catalogue before they are ranked "
            "(our two-stage model only)",
            disabled=model != models[0],
        )
        chosen = st.multiselect("Only these genres", genres, key="genres", bind="query-params", persist_state="session")
        seen = st.toggle(
            "Show movies already rated", value=False, key="seen", bind="query-params", persist_state="session"
        )
    return {"n": int(n), "k": int(k), "genres": list(chosen), "seen": bool(seen), "model": model}
