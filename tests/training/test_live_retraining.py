"""Retraining from the rating store: live ratings and created users fold into the next bundle, the test set stays."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from movierec.artifacts import CURRENT, load_bundle
from movierec.data.live import describe, fold_in, read_live
from movierec.data.split import chronological_split
from movierec.features.encoders import UNKNOWN_INDEX
from movierec.features.space import FeatureSpace
from movierec.store import RatingStore
from serving.config import Settings
from serving.main import create_app
from training import train as train_cli

DAY = dt.timedelta(days=1)
T0 = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
CREATED_MOVIES = (12, 5, 40)  # rated in this order by the created user with demographics


def fill_store(url: str, dataset_users: pd.DataFrame, train: pd.DataFrame) -> dict:
    """Two created users (one without demographics), a dataset user re-rating a training movie, stray ratings."""
    store = RatingStore(url, user_id_floor=int(dataset_users["user_id"].max()))
    created = store.create_user("F", 25, 12).user_id
    anonymous = store.create_user().user_id
    for i, movie in enumerate(CREATED_MOVIES):  # given out of id order, and stored out of time order
        store.put_rating(created, movie, 5 - i, rated_at=T0 + (len(CREATED_MOVIES) - i) * -DAY)
    store.put_rating(anonymous, 7, 4, rated_at=T0 + DAY)
    first = train.iloc[0]
    dataset_user, rerated = int(first["user_id"]), int(first["movie_id"])
    new_rating = 1 if int(first["rating"]) != 1 else 5
    store.put_rating(dataset_user, rerated, new_rating, rated_at=T0 - 10 * DAY)
    store.put_rating(created, 99_999, 3, rated_at=T0)  # not in the catalogue: left out
    store.put_rating(1_000_000, 3, 3, rated_at=T0)  # neither a dataset nor a created user: left out
    store.close()
    return {
        "created": created,
        "anonymous": anonymous,
        "dataset_user": dataset_user,
        "rerated": rerated,
        "new_rating": new_rating,
    }


def test_fold_in_appends_after_the_cutoff_and_keeps_the_test_set(synthetic_data, tmp_path):
    split = chronological_split(synthetic_data.ratings, 0.2)
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    ids = fill_store(url, synthetic_data.users, split.train)

    live = read_live(url)
    folded = fold_in(split, synthetic_data.users, synthetic_data.movies, live)
    train = folded.split.train

    pd.testing.assert_frame_equal(folded.split.test, split.test)  # the archive's test set, untouched
    assert folded.summary == {
        "source": url,
        "store_found": True,
        "ratings": 5,
        "users": 3,
        "created_users": 2,
        "replaced_archive_ratings": 1,
        "skipped_unknown": 2,
        "timestamps": folded.summary["timestamps"],
    }
    assert "5 ratings of 3 users folded in" in describe(folded.summary)
    live_rows = train.iloc[len(train) - 5 :]
    cutoff = int(split.train["timestamp"].max())
    # strictly after the archive's training period, in the order the ratings were given (not 2026 dates)
    assert live_rows["timestamp"].tolist() == list(range(cutoff + 1, cutoff + 6))
    assert live_rows["user_id"].tolist()[:4] == [ids["dataset_user"], *[ids["created"]] * 3]
    assert live_rows["movie_id"].tolist()[1:4] == list(CREATED_MOVIES)
    assert folded.split.cutoff_timestamp == cutoff + 5
    assert train.dtypes.equals(split.train.dtypes)
    # one row per user and movie: the live rating replaced the archive's
    pair = train[(train["user_id"] == ids["dataset_user"]) & (train["movie_id"] == ids["rerated"])]
    assert pair["rating"].tolist() == [ids["new_rating"]]
    assert len(train) == len(split.train) - 1 + 5

    users = folded.users
    assert users.dtypes.equals(synthetic_data.users.dtypes)
    assert users["user_id"].is_unique and {ids["created"], ids["anonymous"]} <= set(users["user_id"])

    space = FeatureSpace.fit(
        train, users, synthetic_data.movies, history_length=20, description=synthetic_data.description
    )
    index = space.user_ids.transform([ids["created"]])[0]
    assert index != UNKNOWN_INDEX
    history = space.history_movies[index]
    assert space.movie_ids.inverse_transform(history[history > 0]).tolist() == list(
        CREATED_MOVIES[::-1]
    )  # latest first
    rows = space.user_rows([ids["created"], ids["anonymous"]])
    assert (space.user_gender[rows[0]], space.user_age[rows[0]], space.user_occupation[rows[0]]) != (0, 0, 0)
    # a created user without demographics encodes as unknown, as on the API's new-user path
    assert (space.user_gender[rows[1]], space.user_age[rows[1]], space.user_occupation[rows[1]]) == (0, 0, 0)


def test_no_store_file_folds_nothing_and_creates_nothing(synthetic_data, tmp_path, monkeypatch):
    from movierec.data.live import default_database_url

    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert default_database_url(tmp_path) is None
    path = tmp_path / "missing.sqlite3"
    live = read_live(f"sqlite:///{path}")
    assert not path.exists() and live.ratings.empty and live.users.empty
    split = chronological_split(synthetic_data.ratings, 0.2)
    folded = fold_in(split, synthetic_data.users, synthetic_data.movies, live)
    assert folded.split.train is split.train and folded.users is synthetic_data.users
    assert describe(folded.summary) == f"live ratings: no store file at sqlite:///{path}: none folded in"
    monkeypatch.setenv("DATABASE_URL", "sqlite:////elsewhere.sqlite3")
    assert default_database_url(tmp_path) == "sqlite:////elsewhere.sqlite3"


def test_unreadable_store_is_a_clear_error(tmp_path, capsys):
    path = tmp_path / "not-a-database.sqlite3"
    path.write_bytes(b"this is not an SQLite file" * 100)
    code = train_cli.main(["--database-url", f"sqlite:///{path}", "--output", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: cannot read the rating store sqlite:///") and str(path) in err


def test_next_bundle_holds_the_created_user(synthetic_zip, synthetic_data, tmp_path, capsys):
    split = chronological_split(synthetic_data.ratings, 0.2)
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    ids = fill_store(url, synthetic_data.users, split.train)
    args = ["--archive", str(synthetic_zip), "--output", str(tmp_path / "artifacts"), "--data-dir", str(tmp_path)]
    small = ["--retrieval-epochs", "1", "--ranking-epochs", "1", "--history-length", "20", "--quiet"]
    assert train_cli.main([*args, *small, "--database-url", url]) == 0
    assert "live ratings: 5 ratings of 3 users folded in (2 created users" in capsys.readouterr().out

    bundle = load_bundle(tmp_path / "artifacts")
    manifest = json.loads((tmp_path / "artifacts" / CURRENT / "manifest.json").read_text())
    assert manifest["config"]["live_ratings"]["ratings"] == 5
    assert manifest["config"]["live_ratings"]["created_users"] == 2
    assert manifest["counts"]["train_ratings"] == len(split.train) - 1 + 5
    assert {ids["created"], ids["anonymous"]} <= set(bundle.users["user_id"])
    space = bundle.space
    history = space.history_movies[space.user_ids.transform([ids["created"]])[0]]
    assert set(space.movie_ids.inverse_transform(history[history > 0])) == set(CREATED_MOVIES)

    settings = Settings(artifacts_dir=tmp_path / "artifacts", database_url=url, reload_poll_seconds=0)
    with TestClient(create_app(settings)) as client:
        # the created user is now a dataset user: their folded-in ratings are the bundle's training ratings
        page = client.get(f"/users/{ids['created']}/ratings", params={"source": "dataset"}).json()
        assert sorted(r["movie_id"] for r in page["ratings"]) == sorted(CREATED_MOVIES)
        response = client.post("/recommend", json={"user_id": ids["created"], "top_n_final": 10})
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["user_id"] == ids["created"] and (body["gender"], body["age"], body["occupation"]) == ("F", 25, 12)
        recommended = {r["movie_id"] for r in body["recommendations"]}
        assert recommended and not recommended & set(CREATED_MOVIES)
        anonymous = client.post("/recommend", json={"user_id": ids["anonymous"]})
        assert anonymous.status_code == 200, anonymous.text
        assert 7 not in {r["movie_id"] for r in anonymous.json()["recommendations"]}
    assert np.array_equal(np.sort(bundle.users["user_id"].to_numpy()), space.users_table_ids.classes_)


def test_a_held_out_run_is_judged_on_the_training_periods_last_part_without_live_ratings(
    synthetic_zip, synthetic_data, tmp_path, capsys
):
    """`make holdout`: fitted on the training period's first part, judged on its last; the rating store's ratings,
    given after the cut-off, are not folded in, and the bundle and its report say what was judged."""
    url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    fill_store(url, synthetic_data.users, chronological_split(synthetic_data.ratings, 0.2).train)
    args = ["--archive", str(synthetic_zip), "--output", str(tmp_path / "holdout"), "--data-dir", str(tmp_path)]
    small = ["--retrieval-epochs", "1", "--ranking-epochs", "1", "--sequence-epochs", "1", "--history-length", "20"]
    assert (
        train_cli.main([*args, *small, "--peers", "none", "--quiet", "--database-url", url, "--holdout", "0.25"]) == 0
    )
    out = capsys.readouterr().out
    assert "held out (the training period's last part; the test split is not read)" in out

    held = chronological_split(chronological_split(synthetic_data.ratings, 0.2).train, 0.25)
    manifest = json.loads((tmp_path / "holdout" / CURRENT / "manifest.json").read_text())
    assert manifest["config"]["holdout_fraction"] == 0.25
    assert manifest["config"]["live_ratings"]["ratings"] == 0
    assert manifest["counts"]["train_ratings"] == len(held.train)
    assert manifest["metrics"]["counts"]["test_ratings"] == len(held.test)
    assert manifest["metrics"]["holdout_fraction"] == 0.25
    report = (tmp_path / "holdout" / CURRENT / "report.md").read_text()
    assert "Held-out period (the training period's last 25%" in report

    from training import evaluate as evaluate_cli  # `make evaluate` on that bundle judges the same period again

    reports = tmp_path / "reports"
    argv = ["--bundle", str(tmp_path / "holdout"), "--archive", str(synthetic_zip), "--data-dir", str(tmp_path)]
    assert evaluate_cli.main([*argv, "--reports", str(reports)]) == 0
    again = (reports / manifest["version"] / "report.md").read_text()
    assert (
        f"Held-out period (the training period's last 25%, fitted on the part before it; the test split was not read): {len(held.test):,} ratings"
        in again
    )


def test_a_held_out_fraction_outside_0_1_is_refused(capsys):
    with pytest.raises(SystemExit):
        train_cli.parse_args(["--holdout", "1"])
    assert "--holdout must be at least 0 and below 1, got 1.0" in capsys.readouterr().err
