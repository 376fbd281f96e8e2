"""The UI's only way to the recommender: HTTP calls to the API, cached reads, and trouble worded for people."""

from __future__ import annotations

import datetime as dt
import os
import time
from typing import Any, NoReturn

import requests
import streamlit as st

TIMEOUT_S = float(os.environ.get("API_TIMEOUT_S", "10"))
CACHE_TTL_S = 300
RATINGS_PAGE = 1000  # the API's largest page of GET /users/{id}/ratings
MAX_RATING_PAGES = 5
HEALTH_TIMEOUT_S = 3
BANNER_SHOWN = "_api_banner_shown"  # set by app.py for one run when it has shown the trouble banner


def api_url() -> str:
    return os.environ.get("API_URL", "http://127.0.0.1:8000").rstrip("/")


class ApiError(Exception):
    """The API could not be reached, timed out, or refused the request; str() is a sentence for people."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status

    @property
    def unreachable(self) -> bool:
        """No answer at all, or the service itself failed (as opposed to "no such user")."""
        return self.status is None or self.status >= 500


def _request(method: str, path: str, timeout: float = TIMEOUT_S, **kwargs) -> tuple[Any, float]:
    url = f"{api_url()}{path}"
    start = time.perf_counter()
    try:
        response = requests.request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout:
        raise ApiError(f"The movie service did not answer within {timeout:.0f} seconds.") from None
    except requests.ConnectionError:
        raise ApiError("The movie service is not answering: it may be restarting or stopped.") from None
    elapsed_ms = (time.perf_counter() - start) * 1000
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        if isinstance(detail, list):  # FastAPI validation errors
            detail = "; ".join(str(d.get("msg", d)) for d in detail)
        if response.status_code >= 500:
            raise ApiError(f"The movie service is having trouble ({response.status_code}: {detail}).", 500)
        raise ApiError(str(detail), response.status_code)
    if response.status_code == 204 or not response.content:
        return None, elapsed_ms
    return response.json(), elapsed_ms


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _cached_get(path: str, params: dict | None) -> Any:
    return _request("GET", path, params=params)[0]


def _saved() -> dict:
    """The last good answer of every GET in this browser session: shown, marked, while the API is away."""
    return st.session_state.setdefault("_api_saved", {})


def get(path: str, params: dict | None = None) -> Any:
    """Cached GET; when the service is unreachable, the last answer this session saw (marked on the page)."""
    key = (path, tuple(sorted((params or {}).items())))
    try:
        value = _cached_get(path, params)
    except ApiError as error:
        if error.unreachable and key in _saved():
            value, saved_at = _saved()[key]
            st.session_state["_api_stale"] = (saved_at, str(error))
            return value
        raise
    _saved()[key] = (value, dt.datetime.now())
    return value


def send(method: str, path: str, payload: dict | None = None) -> tuple[Any, float]:
    """Uncached request (POST/PUT/DELETE); returns (body, round-trip ms). Writes forget cached reads."""
    body, elapsed_ms = _request(method, path, json=payload)
    if method != "POST" or path != "/recommend":
        forget()
    return body, elapsed_ms


def forget() -> None:
    _cached_get.clear()


def user_ratings(user_id: int, source: str = "all") -> tuple[list[dict], int]:
    """A user's ratings, newest first (up to a few thousand), and how many there are in all."""
    ratings: list[dict] = []
    total = 0
    for page in range(MAX_RATING_PAGES):
        body = get(
            f"/users/{user_id}/ratings", {"source": source, "limit": RATINGS_PAGE, "offset": page * RATINGS_PAGE}
        )
        ratings += body["ratings"]
        total = body["total"]
        if len(ratings) >= total:
            break
    return ratings, total


def search_movies(query: str, limit: int) -> dict:
    """GET /movies: {"total", "movies"}; says on the page how many matched and when the list is cut."""
    found = get("/movies", {"q": query, "limit": limit})
    if not found["movies"]:
        st.info(f"No title matches “{query}”. Try fewer words or another spelling.")
    elif found["total"] > len(found["movies"]):
        st.caption(f"{found['total']} titles match “{query}”; the best {len(found['movies'])} are listed.")
    else:
        st.caption(f"{found['total']} title{'s match' if found['total'] != 1 else ' matches'} “{query}”.")
    return found


def retry() -> None:
    forget()
    st.session_state.pop("_api_stale", None)


def check() -> ApiError | None:
    """Is the service up? (uncached GET /health, short timeout): None, or what is wrong."""
    try:
        _request("GET", "/health", timeout=min(TIMEOUT_S, HEALTH_TIMEOUT_S))
    except ApiError as error:
        if error.unreachable:
            return error
    return None


def banner(error: ApiError, cached: bool = False) -> None:
    """The service-trouble banner: what happened in plain words, the API address, a Retry button."""
    with st.container(border=True, key="api_trouble"):
        st.error(f"**Something went wrong on our side.** {error}", icon=":material/cloud_off:")
        saved = " Anything shown below was saved earlier and may be out of date." if cached else ""
        st.caption(f"This app gets its movies from the service at {api_url()}. Nothing you entered is lost.{saved}")
        st.button("Retry", icon=":material/refresh:", on_click=retry, key="api_retry", type="primary")


def trouble(error: ApiError) -> NoReturn:
    """The banner (unless app.py showed it already in this run), then stop the page."""
    if not st.session_state.get(BANNER_SHOWN):
        banner(error)
    st.stop()


def stale_notice() -> None:
    """Say so when what the page shows came from earlier answers because the service is away."""
    stale = st.session_state.pop("_api_stale", None)
    if stale is None:
        return
    saved_at, reason = stale
    with st.container(border=True, key="api_stale"):
        st.warning(
            f"**Showing saved results from {saved_at:%H:%M}.** {reason} ({api_url()})", icon=":material/history:"
        )
        st.button("Retry", icon=":material/refresh:", on_click=retry, key="api_retry_stale")


def or_trouble(call, *args, **kwargs):
    """call(*args, **kwargs), turning a service problem into the banner; other ApiErrors go to the caller."""
    try:
        return call(*args, **kwargs)
    except ApiError as error:
        if error.unreachable:
            trouble(error)
        raise
