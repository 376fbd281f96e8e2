"""Movie lists a person can read: one card per movie, with stars to rate it in place."""

from __future__ import annotations

import streamlit as st

from ui import api
from ui.format import (
    MODEL_NOTES,
    WHOLE_STARS,
    display_title,
    escape,
    genre_chips,
    model_label,
    movie_heading,
    rating_text,
    rating_values,
    stars,
)

ORDER_NOTE = (
    "Ordered by how likely you are to watch the movie next **and** enjoy it (4 stars or more); "
    "the stars are the rating the model expects you to give."
)


def order_note(model: str) -> str:
    """How the list is ordered, in words: ORDER_NOTE for our model, the method's own score for a peer."""
    if model == "two_stage":
        return ORDER_NOTE
    note = f" ({MODEL_NOTES[model]})" if model in MODEL_NOTES else ""
    return (
        f"Ordered by **{model_label(model)}**{note}, one of the classic methods our model is measured against on "
        "the About page; the stars are the rating our model expects you to give."
    )


def _scale() -> list[float]:
    """The served dataset's ratings (GET /vocabulary, cached); whole stars 1-5 when the API cannot say."""
    try:
        return rating_values(api.get("/vocabulary"))
    except api.ApiError:
        return list(WHOLE_STARS)


def _save_rating(user_id: int, movie_id: int, title: str, key: str, values: list[float]) -> None:
    """on_change of a rating widget (its value: an index into values): PUT the rating, then the page reruns."""
    choice = st.session_state.get(key)
    if choice is None:
        return
    value = values[int(choice)]
    rating = int(value) if value.is_integer() else value  # whole stars go as integers, as before half stars
    try:
        api.send("PUT", f"/users/{user_id}/ratings/{movie_id}", {"rating": rating})
    except api.ApiError as error:
        st.session_state["_flash"] = ("error", f"Your rating of {display_title(title)} was not saved: {error}")
        return
    shown = stars(rating) if values == WHOLE_STARS else f"{rating_text(rating)} ★"
    st.session_state["_flash"] = ("success", f"Saved: you rated {display_title(title)} {shown}")


def flash() -> None:
    """The outcome of the last rating (set by a callback before this run)."""
    message = st.session_state.pop("_flash", None)
    if message:
        kind, text = message
        (st.success if kind == "success" else st.error)(text, icon=":material/star:" if kind == "success" else None)


def rate_widget(
    user_id: int, movie_id: int, title: str, current: float | None = None, label: str = "Rate it", where: str = "list"
) -> None:
    """Whole stars 1-5: five clickable stars; any other scale (half stars): a choice of the API's allowed values."""
    key = f"rate_{where}_{user_id}_{movie_id}"
    values = _scale()
    index = None if current is None else min(range(len(values)), key=lambda i: abs(values[i] - float(current)))
    st.caption(label)
    if values == WHOLE_STARS:
        st.feedback(
            "stars", key=key, default=index, on_change=_save_rating, args=(user_id, movie_id, title, key, values)
        )
        return
    st.selectbox(
        label,
        range(len(values)),
        index=index,
        format_func=lambda i: f"{rating_text(values[i])} ★",
        placeholder="stars",
        key=key,
        label_visibility="collapsed",
        on_change=_save_rating,
        args=(user_id, movie_id, title, key, values),
    )


def _details(rec: dict, model: str) -> str:
    if model != "two_stage":
        return (
            f"- expected rating (our model): {rec['predicted_rating']:.2f} of 5\n"
            f"- {model_label(model)} score (the order of this list): {rec['ranking_score']:.4g}\n"
            f"- movie id {rec['movie_id']}"
        )
    return (
        f"- expected rating: {rec['predicted_rating']:.2f} of 5\n"
        f"- chance it is your next 4-5 star movie (the order of this list): {rec['ranking_score']:.3%}\n"
        f"- taste match (cosine of your profile and the movie's, -1 to 1): {rec['retrieval_score']:.3f}\n"
        f"- movie id {rec['movie_id']}"
    )


def recommendation_cards(
    recommendations: list[dict], user_id: int | None, rated: dict[int, float], model: str = "two_stage"
) -> None:
    """One card per recommendation; rated maps movie_id -> the user's rating (shown as "already rated"); model: the
    one that made the list (POST /recommend's)."""
    for rec in recommendations:
        with st.container(border=True, key=f"rec_{rec['movie_id']}"):
            left, right = st.columns([3, 1], vertical_alignment="top")
            mine = rated.get(rec["movie_id"])
            because = rec.get("because")
            with left:
                lines = [f"{rec['rank']}. {movie_heading(rec['title'], rec['year'])}", genre_chips(rec["genres"])]
                if mine is not None:
                    lines.append(f":green-badge[:material/check: Already rated] you gave it {stars(mine)}")
                elif because and because["movie_id"] != rec["movie_id"]:
                    lines.append(
                        f"Because you rated *{escape(display_title(because['title']))}* {stars(because['rating'])}"
                    )
                st.markdown("  \n".join(lines))
                with st.expander("Details"):
                    st.markdown(_details(rec, model))
            with right:
                st.markdown(
                    f"**{stars(rec['predicted_rating'])}** {rec['predicted_rating']:.1f}",
                    help="the rating the model expects you to give",
                )
                if user_id is not None:
                    rate_widget(
                        user_id, rec["movie_id"], rec["title"], mine, "Your rating" if mine else "Seen it? Rate it"
                    )


def movie_cards(movies: list[dict], note: str | None = None) -> None:
    """Plain movie cards (search results, similar movies); note is a key of each movie shown as a percentage."""
    for movie in movies:
        with st.container(border=True, key=f"movie_{movie['movie_id']}"):
            line = movie_heading(movie["title"], movie["year"])
            if note:
                line += f" · {movie[note]:.0%} similar"
            st.markdown(line)
            st.markdown(genre_chips(movie["genres"]))
