"""The UI's only way to the recommender: HTTP calls to the API, with cached reads and readable errors."""

from __future__ import annotations

import os
import time

import requests
import streamlit as st

TIMEOUT_S = float(os.environ.get("API_TIMEOUT_S", "10"))
CACHE_TTL_S = 300


def api_url() -> str:
    return os.environ.get("API_URL", "http://127.0.0.1:8000").rstrip("/")


class ApiError(Exception):
    """The API could not be reached, timed out, or answered with an error; the message is for people."""


def _request(method: str, path: str, **kwargs) -> tuple[dict, float]:
    url = f"{api_url()}{path}"
    start = time.perf_counter()
    try:
        response = requests.request(method, url, timeout=TIMEOUT_S, **kwargs)
    except requests.Timeout:
        raise ApiError(f"The API at {url} did not answer within {TIMEOUT_S:.0f} s.") from None
    except requests.ConnectionError:
        raise ApiError(
            f"Could not reach the API at {url}. Start it with `make serve` "
            f"(or `make up` for API and UI together), or set API_URL."
        ) from None
    elapsed_ms = (time.perf_counter() - start) * 1000
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        if isinstance(detail, list):  # FastAPI validation errors
            detail = "; ".join(str(d.get("msg", d)) for d in detail)
        raise ApiError(f"The API at {url} answered {response.status_code}: {detail}")
    return response.json(), elapsed_ms


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def get(path: str, params: dict | None = None) -> dict:
    """Cached GET (user profiles, movies, stats, vocabulary)."""
    return _request("GET", path, params=params)[0]


def post(path: str, payload: dict) -> tuple[dict, float]:
    """Uncached POST; returns (body, client-side latency in ms)."""
    return _request("POST", path, json=payload)


def show_error(error: ApiError) -> None:
    st.error(str(error))
    st.stop()


def search_movies(query: str, limit: int) -> list[dict]:
    """Catalogue titles containing query (most rated first); says so on the page when nothing matches."""
    try:
        found = get("/movies", {"q": query, "limit": limit})["movies"]
    except ApiError as error:
        show_error(error)
    if not found:
        st.info(f"No title contains “{query}”.")
    return found
