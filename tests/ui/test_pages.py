"""Each Streamlit page with the HTTP layer replaced by a small in-memory API (streamlit.testing AppTest)."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest
import requests
import streamlit as st
from streamlit.testing.v1 import AppTest

from ui import api
from ui.format import MODEL_LABELS, MODEL_NOTES, display_title, genre_chips, model_label, rating_values, stars

VOCABULARY = {
    "genres": ["Action", "Animation", "Comedy", "Horror"],
    "genders": {"F": "female", "M": "male"},
    "age_groups": {"1": "Under 18", "18": "18-24", "25": "25-34", "35": "35-44"},
    "occupations": {str(i): f"job {i}" for i in range(21)} | {"12": "programmer"},
    "models": ["two_stage", "ease", "item_knn", "popularity"],
    "dataset": "ml-1m",
}
STATS = {
    "users": 6040,
    "movies": 3883,
    "train_ratings": 800167,
    "bundle_version": "v1",
    "metrics": {
        "static": {"two_stage": {"hr@10": 0.81, "ndcg@10": 0.364, "hr@100": 0.96}},
        "peers": {
            "methods": {
                "ease": {
                    "static": {"hits": {"hr@10": 0.78, "ndcg@10": 0.359}, "retrieval": {"recall@200": 0.39}},
                    "streaming": {"hr@10": 0.077, "ndcg@10": 0.038},
                }
            }
        },
        "retrieval": {  # keys deliberately out of K order: the page orders them
            "two_tower": {"recall@200": 0.41, "recall@10": 0.05, "recall@50": 0.17, "recall@200_unknown_users": 0.4},
            "popularity_all": {"recall@50": 0.15, "recall@200": 0.36, "recall@10": 0.04},
        },
        "final_list": {"two_stage": {"ndcg@10": 0.3, "precision@10": 0.25}},
        "streaming": {
            "all_events": {
                "retrieval": {"hr@100": 0.3, "hr@10": 0.066, "ndcg@10": 0.033, "hr@10_unknown_users": float("nan")},
                "popularity_all": {"hr@10": 0.044, "hr@100": 0.2, "ndcg@10": 0.022},
            },
            "sample_events": {"two_stage": {"hr@10": 0.07, "hr@100": 0.31, "ndcg@10": 0.035}},
            "liked_sample_events": {"two_stage": {"hr@10": 0.08, "hr@100": 0.33, "ndcg@10": 0.04}},
            "events": {"all": 200042, "seen_users": 104540, "unknown_users": 95502},
        },
        "rating": {
            "ranker": {"rmse": 0.9, "rmse_seen_users": 0.87, "rmse_unknown_users": 0.95},
            "bias": {"rmse": 0.95, "rmse_seen_users": 0.92, "rmse_unknown_users": 0.98},
        },
    },
}
EXAMPLES = {"rich_history": 10, "rich_history_ratings": 400, "no_history": 1}
MOVIE = {
    "movie_id": 1,
    "title": "Toy Story (1995)",
    "genres": ["Animation", "Comedy"],
    "year": 1995,
    "rating_count": 1200,
    "rating_mean": 4.15,
}
GODFATHER = MOVIE | {"movie_id": 858, "title": "Godfather, The (1972)", "genres": ["Drama"], "year": 1972}


def recommendation(rank, movie_id, title, because=None):
    return {
        "rank": rank,
        "movie_id": movie_id,
        "title": title,
        "genres": ["Adventure"],
        "year": 1995,
        "ranking_score": 0.00393,
        "predicted_rating": 4.2,
        "retrieval_score": 0.8,
        "because": because,
    }


class FakeApi:
    """The endpoints the UI calls, answering like the real API; records what was asked."""

    def __init__(self):
        self.calls: list[tuple[str, str, dict]] = []
        self.live: dict[int, dict[int, int]] = {}  # user -> movie -> rating
        self.next_user = 6041
        self.vocabulary = VOCABULARY

    def ratings_of(self, user_id: int) -> list[dict]:
        items = [
            {
                "movie_id": m,
                "title": "Jumanji (1995)",
                "rating": r,
                "rated_at": "2025-01-01T00:00:00Z",
                "source": "live",
            }
            for m, r in self.live.get(user_id, {}).items()
        ]
        if user_id == 10:
            items.append(
                {
                    "movie_id": 1,
                    "title": MOVIE["title"],
                    "rating": 5,
                    "rated_at": "2000-05-01T00:00:00Z",
                    "source": "dataset",
                }
            )
        return items

    def __call__(self, method, path, timeout=None, **kwargs):
        self.calls.append((method, path, kwargs.get("json") or kwargs.get("params") or {}))
        if path == "/health":
            return {"status": "ready"}, 1.0
        if path == "/vocabulary":
            return self.vocabulary, 1.0
        if path == "/stats":
            return STATS, 1.0
        if path == "/users/examples":
            return EXAMPLES, 1.0
        if match := re.fullmatch(r"/user/(\d+)", path):
            user_id = int(match[1])
            if user_id == 99999:
                raise api.ApiError("user_id 99999 not found: dataset users are 1-6040", 404)
            rated = user_id == 10
            return {
                "user_id": user_id,
                "gender": "F",
                "age": 25,
                "occupation": 12,
                "rating_count": 1 if rated else 0,
                "top_rated": [{"movie_id": 1, "title": MOVIE["title"], "rating": 5.0}] if rated else [],
            }, 1.0
        if match := re.fullmatch(r"/users/(\d+)/ratings", path):
            items = self.ratings_of(int(match[1]))
            return {
                "user_id": int(match[1]),
                "source": "all",
                "total": len(items),
                "limit": 1000,
                "offset": 0,
                "ratings": items,
            }, 1.0
        if match := re.fullmatch(r"/users/(\d+)/ratings/(\d+)", path):
            self.live.setdefault(int(match[1]), {})[int(match[2])] = kwargs["json"]["rating"]
            return {"user_id": int(match[1]), "movie_id": int(match[2]), "rating": kwargs["json"]["rating"]}, 1.0
        if path == "/users" and method == "POST":
            self.next_user += 1
            return {"user_id": self.next_user - 1}, 1.0
        if path == "/movies":
            query = kwargs["params"]["q"]
            found = [GODFATHER] if "godfather" in query else [MOVIE]
            return {"total": 37 if query == "a" else len(found), "movies": found}, 1.0
        if re.fullmatch(r"/movie/\d+", path):
            return MOVIE, 1.0
        if path.endswith("/similar"):
            return {
                "movie": MOVIE,
                "similar": [MOVIE | {"movie_id": 2, "title": "Aladdin (1992)", "similarity": 0.9}],
            }, 1.0
        if path == "/recommend":
            body = kwargs["json"]
            user_id = body.get("user_id")
            recs = [
                recommendation(1, 2, "Jumanji (1995)", {"movie_id": 1, "title": "Toy Story (1995)", "rating": 5}),
                recommendation(2, 3, "Heat (1995)"),
            ]
            if not body.get("exclude_seen", True):  # a seen movie; the API may name it as its own reason
                recs.append(
                    recommendation(3, 1, "Toy Story (1995)", {"movie_id": 1, "title": "Toy Story (1995)", "rating": 5})
                )
            return {
                "model": body.get("model", "two_stage"),
                "user_id": user_id,
                "gender": "F",
                "age": 25,
                "occupation": 12,
                "server_ms": 1.2,
                "recommendations": recs,
            }, 3.0
        raise AssertionError(f"unexpected {method} {path}")


@pytest.fixture(autouse=True)
def clean_cache():
    st.cache_data.clear()
    yield
    st.cache_data.clear()


@pytest.fixture()
def fake(monkeypatch) -> FakeApi:
    fake = FakeApi()
    monkeypatch.setattr(api, "_request", fake)
    return fake


UI_DIR = Path(__file__).resolve().parents[2] / "ui"


def run(page: str, **query) -> AppTest:
    at = AppTest.from_file(str(UI_DIR / "views" / f"{page}.py"), default_timeout=30)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def text(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown) + "\n".join(c.value for c in at.caption)


def test_ui_never_imports_tensorflow_or_model_code():
    import subprocess

    probe = "import sys, ui.api, ui.format, ui.cards, ui.prefs; sys.exit('tensorflow' in sys.modules or 'movierec' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], cwd=UI_DIR.parent).returncode == 0
    for path in UI_DIR.rglob("*.py"):
        source = path.read_text()
        assert "tensorflow" not in source and "import movierec" not in source and "from movierec" not in source, path


def test_display_helpers():
    assert display_title("Godfather, The (1972)") == "The Godfather"
    assert display_title("Dîner de cons, Le (1998)") == "Le Dîner de cons"
    assert display_title("Cité des enfants perdus, La (City of Lost Children, The) (1995)") == (
        "La Cité des enfants perdus (The City of Lost Children)"
    )
    assert display_title("Movie 160") == "Movie 160"
    assert stars(4.2) == "★★★★☆" and stars(0.2) == "☆☆☆☆☆"
    assert genre_chips(["Drama", "Sci-Fi"]) == ":blue-badge[Drama] :green-badge[Sci-Fi]"


def test_recommend_page_opens_on_a_rich_user_with_the_list_shown(fake):
    at = run("recommend")
    assert not at.exception and not at.error
    assert at.number_input(key="user").value == EXAMPLES["rich_history"]
    shown = text(at)
    assert "**User 10**" in shown
    assert "**Jumanji** · 1995" in shown and "Because you rated *Toy Story* ★★★★★" in shown
    assert "3.93e-03" not in shown and "0.393%" in shown  # technical scores in plain numbers, in the details
    assert "Recommend" not in [b.label for b in at.button]
    recommend = [c for c in fake.calls if c[1] == "/recommend"]
    assert recommend and recommend[-1][2]["user_id"] == 10  # no button to press


def test_recommend_page_takes_the_user_from_the_url(fake):
    at = run("recommend", user="1")
    assert not at.exception
    assert at.number_input(key="user").value == 1
    assert "has not rated anything yet" in at.info[0].value
    assert [c[2]["user_id"] for c in fake.calls if c[1] == "/recommend"] == [1]


def test_unknown_user_gets_a_message_and_no_list(fake):
    at = run("recommend", user="99999")
    assert not at.exception
    assert "No list for user 99999" in at.warning[0].value and "1-6040" in at.warning[0].value
    assert not [c for c in fake.calls if c[1] == "/recommend"]


def test_seen_movies_are_badged_never_explained_by_themselves(fake):
    at = run("recommend")
    at.toggle(key="seen").set_value(True).run()
    assert not at.exception
    shown = text(at)
    assert "Already rated" in shown
    toy_story = next(m.value for m in at.markdown if "**Toy Story**" in m.value)
    assert "Already rated" in toy_story and "Because" not in toy_story
    assert [c[2]["exclude_seen"] for c in fake.calls if c[1] == "/recommend"][-1] is False


def test_new_user_page_states_limits_creates_a_user_and_recommends(fake):
    at = run("new_user")
    assert not at.exception
    assert any("Rate as many movies as you like" in m.value for m in at.markdown)
    at.button[0].click().run()  # the form's "Create my profile"
    assert not at.exception
    assert at.query_params["me"] == ["6041"] or at.query_params["me"] == "6041"
    assert "You are user **6041**" in at.success[0].value and "/new?me=6041" in at.success[0].value
    at.text_input(key="new_query").input("the godfather").run()
    assert "1 title matches “the godfather”" in text(at)
    for movie_id in (858, 1, 2):
        fake.live.setdefault(6041, {})[movie_id] = 5
    st.cache_data.clear()  # written behind the page's back (the page itself forgets its cache on writes)
    at.run()
    assert not at.exception
    assert any(h.value == "Your ratings (3)" for h in at.subheader)
    assert "**Jumanji** · 1995" in text(at)


HALF_STARS = {"min": 0.5, "max": 5.0, "step": 0.5, "values": [0.5 * i for i in range(1, 11)]}


def test_rating_values_come_from_the_vocabulary():
    assert rating_values(VOCABULARY) == [1.0, 2.0, 3.0, 4.0, 5.0]  # an API that does not list a scale: ML-1M's
    assert rating_values({"rating": HALF_STARS}) == HALF_STARS["values"]
    assert rating_values({"rating": {"min": 0.5, "max": 2.0, "step": 0.5}}) == [0.5, 1.0, 1.5, 2.0]


def test_a_half_star_dataset_is_rated_with_the_apis_values(fake):
    fake.vocabulary = VOCABULARY | {"rating": HALF_STARS}
    at = run("recommend")
    assert not at.exception and not at.error
    widgets = [w for w in at.selectbox if str(w.key).startswith("rate_list_10_")]
    assert widgets, "a half-star scale is offered as a choice of values, not five stars"
    assert widgets[0].options == [f"{v:g} ★" for v in HALF_STARS["values"]]
    movie_id = int(str(widgets[0].key).rsplit("_", 1)[1])
    widgets[0].set_value(8).run()  # the ninth value: 4.5
    assert not at.exception
    assert ("PUT", f"/users/10/ratings/{movie_id}", {"rating": 4.5}) in fake.calls
    assert fake.live[10][movie_id] == 4.5 and "you rated" in at.success[0].value and "4.5 ★" in at.success[0].value


def test_similar_page(fake):
    at = run("similar")
    assert not at.exception and not at.error
    assert "1 title matches “Toy Story”" in text(at)
    assert "**Aladdin** · 1995 · 90% similar" in text(at)


def test_search_says_when_the_list_is_cut(fake):
    at = run("similar")
    at.text_input(key="similar_query").input("a").run()
    assert "37 titles match “a”; the best 1 are listed" in text(at)


def test_about_page_orders_by_k_and_explains_metrics(fake):
    at = run("about")
    assert not at.exception and not at.error
    recall = at.dataframe[0].value
    assert list(recall.columns)[:3] == ["recall@10, all users", "recall@50, all users", "recall@200, all users"]
    assert "Our model (two-tower)" in recall.index and "two_tower" not in recall.index
    shown = text(at)
    for phrase in ("Static protocol", "Streaming protocol", "Recall@K", "NDCG@10", "RMSE"):
        assert phrase in shown, phrase
    charts = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    recall_chart, rmse_chart, streaming_chart = charts
    assert streaming_chart["encoding"]["x"]["sort"] == [10, 100]
    streaming = at.dataframe[2].value  # recall, final list, then the streaming table
    assert list(streaming.columns) == ["hr@10, all users", "hr@100, all users", "ndcg@10, all users"]
    assert set(streaming.index) == {
        "Our model, first stage only",
        "Most popular overall",
        "Our model (retrieve, then rank)",
        "Our model (retrieve, then rank): movies rated 4-5",
    }
    assert streaming.loc["Our model (retrieve, then rank): movies rated 4-5", "hr@10, all users"] == 0.08
    assert "keep only the ratings a person gave 4 or 5 stars" in shown
    assert recall_chart["encoding"]["x"]["sort"] == [10, 50, 200]
    assert recall_chart["encoding"]["x"]["axis"]["labelAngle"] == 0
    assert rmse_chart["encoding"]["x"]["scale"]["zero"] is False  # the differences that matter stay visible
    methods = at.dataframe[3].value
    assert list(methods.index) == ["Our model", "EASE"]
    assert methods.loc["EASE", "streaming HR@10"] == 0.077 and methods.loc["Our model", "static HR@10"] == 0.81
    reference = at.dataframe[4].value
    assert list(reference["SASRec (Time to Split)"]) == ["0.65-0.70", "0.22-0.25", "0.19-0.23", "0.10-0.12"]
    assert reference["our model"].iloc[0] == 0.81
    assert "MovieLens** ratings dataset `ml-1m`" in shown


def test_about_page_shows_no_ml1m_reference_for_another_dataset(fake, monkeypatch):
    monkeypatch.setitem(VOCABULARY, "dataset", "ml-100k")
    at = run("about")
    assert not at.exception
    assert "Time to Split" not in text(at) and "`ml-100k`" in text(at)
    assert len(at.dataframe) == 4  # recall, final list, streaming, every method


@pytest.mark.parametrize("page", ["recommend", "new_user", "profile", "similar", "about"])
def test_api_down_shows_a_banner_with_retry(page, monkeypatch):
    monkeypatch.setenv("API_URL", "http://127.0.0.1:9")

    def refuse(*args, **kwargs):
        raise requests.ConnectionError("refused")

    monkeypatch.setattr(api.requests, "request", refuse)
    at = run(page)
    assert not at.exception
    assert at.error and "not answering" in at.error[0].value
    assert any("http://127.0.0.1:9" in c.value for c in at.caption)
    assert at.button(key="api_retry").label == "Retry"


def test_api_error_status_is_shown(monkeypatch):
    class Response:
        status_code = 503
        text = "no bundle"
        content = b"{}"

        def json(self):
            return {"detail": "no bundle loaded yet"}

    monkeypatch.setattr(api.requests, "request", lambda *a, **k: Response())
    at = run("about")
    assert at.error and "503" in at.error[0].value and "no bundle loaded yet" in at.error[0].value


def test_profile_page_charts_ratings_over_time_and_genre_mix(fake):
    at = run("profile", user="10")
    assert not at.exception and not at.error
    charts = [json.loads(chart.proto.spec) for chart in at.get("vega_lite_chart")]
    assert len(charts) == 2
    over_time, mix = charts
    assert over_time["encoding"]["y"]["title"] == "ratings given"
    assert mix["encoding"]["color"]["field"] == "list"
    assert "★★★★★ · Toy Story · 2000-05-01" in text(at)


def test_model_selector_is_in_the_url_and_changes_the_list_and_its_explanation(fake):
    at = run("recommend")
    assert at.selectbox(key="model").value == "two_stage"
    assert at.selectbox(key="model").options == ["Our model", "EASE", "Item-KNN", "Most rated"]
    assert "how likely you are to watch the movie next" in text(at)
    at.selectbox(key="model").set_value("ease").run()
    assert not at.exception
    assert [c[2]["model"] for c in fake.calls if c[1] == "/recommend"][-1] == "ease"
    shown = text(at)
    assert "Ordered by **EASE** (a linear model of which movies go together)" in shown
    assert "how likely you are" not in shown and "EASE score (the order of this list)" in shown
    assert at.slider(key="k").disabled  # candidates are a two-stage setting


def test_every_method_the_api_serves_has_a_label_and_a_note():
    """The selector names each model value of POST /recommend in words, and the URL keeps the label: a new
    retriever without them would show its code name, and two equal labels could not be told apart in a link."""
    from movierec.retrievers import RETRIEVERS  # the test may read the core; the UI itself never imports it

    assert set(RETRIEVERS) <= set(MODEL_LABELS) and set(RETRIEVERS) <= set(MODEL_NOTES)
    assert "two_stage" in MODEL_LABELS and len(set(MODEL_LABELS.values())) == len(MODEL_LABELS)
    assert model_label("transitions") == "What comes next" and model_label("no_such_model") == "no_such_model"


def test_model_from_the_url(fake):
    at = run("recommend", model="Item-KNN")
    assert not at.exception and at.selectbox(key="model").value == "item_knn"
    assert [c[2]["model"] for c in fake.calls if c[1] == "/recommend"] == ["item_knn"]
