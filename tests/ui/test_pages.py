"""Each Streamlit page with the HTTP layer mocked (streamlit.testing AppTest)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import requests
import streamlit as st
from streamlit.testing.v1 import AppTest

from ui import api

VOCABULARY = {
    "genres": ["Action", "Animation", "Comedy", "Horror"],
    "genders": {"F": "female", "M": "male"},
    "age_groups": {"1": "Under 18", "18": "18-24", "25": "25-34", "35": "35-44"},
    "occupations": {str(i): f"job {i}" for i in range(21)} | {"12": "programmer"},
}
STATS = {
    "users": 6040,
    "movies": 3883,
    "train_ratings": 800167,
    "bundle_version": "v1",
    "metrics": {
        "retrieval": {
            "two_tower": {"recall@10": 0.05, "recall@50": 0.17, "recall@200": 0.41},
            "popularity_all": {"recall@10": 0.04, "recall@50": 0.15, "recall@200": 0.36},
        },
        "final_list": {"two_stage": {"ndcg@10": 0.3, "precision@10": 0.25}},
        "rating": {
            "ranker": {"rmse": 0.9, "rmse_seen_users": 0.87, "rmse_unknown_users": 0.95},
            "bias": {"rmse": 0.95, "rmse_seen_users": 0.92, "rmse_unknown_users": 0.98},
        },
    },
}
MOVIE = {
    "movie_id": 1,
    "title": "Toy Story (1995)",
    "genres": ["Animation", "Comedy"],
    "year": 1995,
    "rating_count": 1200,
    "rating_mean": 4.15,
}
RECOMMENDATIONS = {
    "user_id": 1,
    "gender": "F",
    "age": 1,
    "occupation": 10,
    "server_ms": 1.2,
    "recommendations": [
        {
            "rank": 1,
            "movie_id": 2,
            "title": "Jumanji (1995)",
            "genres": ["Adventure"],
            "year": 1995,
            "ranking_score": 0.004,
            "predicted_rating": 4.2,
            "retrieval_score": 0.8,
            "because": {"movie_id": 1, "title": "Toy Story (1995)", "rating": 5},
        },
        {
            "rank": 2,
            "movie_id": 3,
            "title": "Heat (1995)",
            "genres": ["Action"],
            "year": 1995,
            "ranking_score": 0.003,
            "predicted_rating": 3.9,
            "retrieval_score": 0.7,
            "because": None,
        },
    ],
}


def fake_request(method, path, **kwargs):
    if path == "/vocabulary":
        return VOCABULARY, 1.0
    if path == "/stats":
        return STATS, 1.0
    if path.startswith("/user/"):
        return {
            "user_id": 1,
            "gender": "F",
            "age": 1,
            "occupation": 10,
            "rating_count": 53,
            "top_rated": [{"movie_id": 1, "title": "Toy Story (1995)", "rating": 5.0}],
        }, 1.0
    if path == "/movies":
        return {"movies": [MOVIE]}, 1.0
    if path.endswith("/similar"):
        return {"movie": MOVIE, "similar": [MOVIE | {"movie_id": 2, "title": "Aladdin (1992)", "similarity": 0.9}]}, 1.0
    if path == "/recommend":
        return RECOMMENDATIONS, 3.0
    raise AssertionError(f"unexpected {method} {path}")


@pytest.fixture(autouse=True)
def clean_cache():
    st.cache_data.clear()
    yield
    st.cache_data.clear()


@pytest.fixture()
def mocked_api(monkeypatch):
    monkeypatch.setattr(api, "_request", fake_request)


UI_DIR = Path(__file__).resolve().parents[2] / "ui"


def run(page: str) -> AppTest:
    return AppTest.from_file(str(UI_DIR / "views" / f"{page}.py"), default_timeout=30).run()


def test_ui_never_imports_tensorflow_or_model_code():
    import subprocess

    probe = "import sys, ui.api, ui.format; sys.exit('tensorflow' in sys.modules or 'movierec' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], cwd=UI_DIR.parent).returncode == 0
    for path in UI_DIR.rglob("*.py"):
        text = path.read_text()
        assert "tensorflow" not in text and "import movierec" not in text and "from movierec" not in text, path


def test_recommend_page_shows_table(mocked_api):
    at = run("recommend")
    assert not at.exception and not at.error
    assert "User 1" in at.markdown[0].value
    at.button[0].click().run()  # random user
    assert 1 <= at.number_input[0].value <= 6040
    at.button[1].click().run()  # the form's Recommend button
    assert not at.error
    frames = [df.value for df in at.dataframe]
    table = frames[-1]
    assert list(table["title"]) == ["Jumanji (1995)", "Heat (1995)"]
    assert table["predicted rating"][0].startswith("★★★★☆")
    assert "Toy Story" in table["because you rated"][0]
    assert any("API latency" in c.value for c in at.caption)


def test_new_user_page_needs_three_ratings_then_recommends(mocked_api):
    at = run("new_user")
    assert not at.exception
    assert "Rate at least 3" in at.info[0].value
    at.text_input[0].input("toy").run()
    at.session_state["my_ratings"] = {
        1: {"title": "Toy Story", "rating": 5},
        2: {"title": "Jumanji", "rating": 4},
        3: {"title": "Heat", "rating": 2},
    }
    at.run()
    assert not at.exception and not at.error
    assert list(at.dataframe[-1].value["title"]) == ["Jumanji (1995)", "Heat (1995)"]
    labels = at.selectbox[0].options
    assert "25-34" in labels


def test_similar_page(mocked_api):
    at = run("similar")
    assert not at.exception and not at.error
    assert list(at.dataframe[0].value["title"]) == ["Aladdin (1992)"]


def test_about_page_shows_metrics(mocked_api):
    at = run("about")
    assert not at.exception and not at.error
    assert len(at.dataframe) == 3


@pytest.mark.parametrize("page", ["recommend", "new_user", "similar", "about"])
def test_api_down_shows_clear_error(page, monkeypatch):
    monkeypatch.setenv("API_URL", "http://127.0.0.1:9")

    def refuse(*args, **kwargs):
        raise requests.ConnectionError("refused")

    monkeypatch.setattr(api.requests, "request", refuse)
    at = run(page)
    assert not at.exception
    assert at.error and "http://127.0.0.1:9" in at.error[0].value and "make serve" in at.error[0].value


def test_api_error_status_is_shown(monkeypatch):
    class Response:
        status_code = 503
        text = "no bundle"

        def json(self):
            return {"detail": "no bundle loaded yet"}

    monkeypatch.setattr(api.requests, "request", lambda *a, **k: Response())
    at = run("about")
    assert at.error and "503" in at.error[0].value and "no bundle loaded yet" in at.error[0].value
