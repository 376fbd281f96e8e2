"""RatingStore on SQLite and PostgreSQL: ids, upserts, deletes, ordering, concurrency, restarts, outages."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.exc import IntegrityError

from movierec.store import RatingStore, StoreUnavailable
from movierec.store.models import Rating
from movierec.store.store import MIGRATIONS_DIR

FLOOR = 6040


def at(minute: int) -> dt.datetime:
    return dt.datetime(2025, 1, 1, 12, minute, tzinfo=dt.UTC)


def row_count(store: RatingStore) -> int:
    with store.engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(Rating.__table__)).scalar_one()


def test_created_users_get_ids_above_the_dataset_and_keep_demographics(store_url):
    store = RatingStore(store_url, user_id_floor=FLOOR)
    first = store.create_user("F", 25, 12)
    second = store.create_user()
    assert first.user_id == FLOOR + 1 and second.user_id == FLOOR + 2
    again = store.user(first.user_id)
    assert (again.gender, again.age, again.occupation) == ("F", 25, 12)
    assert again.created_at.tzinfo is not None
    assert store.user(second.user_id).gender is None
    assert store.user(FLOOR) is None and store.user(2**40) is None


def test_a_new_rating_replaces_the_old_one(store_url):
    store = RatingStore(store_url, user_id_floor=FLOOR)
    store.put_rating(7, 10, 2, rated_at=at(1))
    store.put_rating(7, 10, 5, rated_at=at(2))
    assert [(r.movie_id, r.rating, r.rated_at) for r in store.ratings_of(7)] == [(10, 5, at(2))]
    assert row_count(store) == 1


def test_ratings_come_oldest_first_and_delete_removes_only_live_ones(store_url):
    store = RatingStore(store_url, user_id_floor=FLOOR)
    for minute, movie in [(3, 30), (1, 10), (2, 20)]:
        store.put_rating(7, movie, 4, rated_at=at(minute))
    store.put_rating(8, 10, 1, rated_at=at(0))
    assert store.history(7) == [(10, 4.0), (20, 4.0), (30, 4.0)]
    store.put_rating(7, 10, 3, rated_at=at(5))  # re-rating moves the movie to the end of the history
    assert store.history(7) == [(20, 4.0), (30, 4.0), (10, 3.0)]
    assert store.delete_rating(7, 20) is True
    assert store.delete_rating(7, 20) is False
    assert store.delete_rating(7, 999) is False
    assert store.history(7) == [(30, 4.0), (10, 3.0)]
    assert store.history(8) == [(10, 1.0)]


@pytest.mark.parametrize("bad", [0, 0.25, 4.25, 5.5, 6, float("nan"), float("inf")])
def test_ratings_outside_the_scale_are_refused_and_nothing_is_written(store_url, bad):
    store = RatingStore(store_url, user_id_floor=FLOOR)
    with pytest.raises(ValueError, match=r"rating must be 0.5-5 in steps of 0.5 \(half stars\), got"):
        store.put_rating(7, 10, bad)
    assert store.ratings_of(7) == []


def test_half_stars_are_stored_and_read_back_exactly(store_url):
    store = RatingStore(store_url, user_id_floor=FLOOR)
    assert store.put_rating(7, 10, 4.5, rated_at=at(1)).rating == 4.5
    store.put_rating(7, 11, 0.5, rated_at=at(2))
    store.put_rating(7, 12, 3, rated_at=at(3))
    assert store.history(7) == [(10, 4.5), (11, 0.5), (12, 3.0)]
    assert [(r.rating, type(r.rating)) for r in store.ratings_of(7)] == [(4.5, float), (0.5, float), (3.0, float)]
    with store.engine.connect() as connection:  # the column itself holds the half star, not a rounded value
        stored = connection.execute(text("SELECT rating FROM ratings WHERE movie_id = 10")).scalar_one()
    assert float(stored) == 4.5


def _alembic(url: str, action: str, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with create_engine(url).begin() as connection:
        config.attributes["connection"] = connection
        getattr(command, action)(config, revision)


def test_a_whole_star_database_upgrades_to_half_stars_keeping_its_ratings(store_url):
    _alembic(store_url, "upgrade", "0001")  # a store as it was before half stars
    engine = create_engine(store_url)
    with engine.begin() as connection:
        for user, movie, rating in [(7, 10, 4), (7, 11, 1), (8, 10, 5)]:
            connection.execute(
                text("INSERT INTO ratings VALUES (:u, :m, :r, :t)"),
                {"u": user, "m": movie, "r": rating, "t": at(movie)},
            )
        connection.execute(
            text("INSERT INTO users (gender, age, occupation, created_at) VALUES ('F', 25, 3, :t)"), {"t": at(0)}
        )
        assert "SMALLINT" in str(_rating_column(connection)["type"]).upper()
    engine.dispose()
    store = RatingStore(store_url, user_id_floor=FLOOR)  # upgrades to head on first use
    assert store.history(7) == [(10, 4.0), (11, 1.0)] and store.history(8) == [(10, 5.0)]
    assert store.user(1).gender == "F" and store.create_user().user_id == FLOOR + 1
    store.put_rating(7, 12, 4.5, rated_at=at(30))
    assert store.history(7)[-1] == (12, 4.5)
    with store.engine.connect() as connection:
        assert "NUMERIC" in str(_rating_column(connection)["type"]).upper()
        assert "ix_ratings_user_rated_at" in {index["name"] for index in inspect(connection).get_indexes("ratings")}
        with pytest.raises(IntegrityError, match="ck_ratings_rating"):  # the new check still guards the column
            connection.execute(text("INSERT INTO ratings VALUES (9, 1, 5.5, :t)"), {"t": at(1)})
    store.close()
    with pytest.raises(RuntimeError, match="1 stored ratings are half stars"):  # a downgrade never rounds them away
        _alembic(store_url, "downgrade", "0001")
    store = RatingStore(store_url, user_id_floor=FLOOR)
    store.delete_rating(7, 12)
    store.close()
    _alembic(store_url, "downgrade", "0001")
    with create_engine(store_url).connect() as connection:
        assert connection.execute(text("SELECT COUNT(*) FROM ratings")).scalar_one() == 3


def _rating_column(connection) -> dict:
    return next(c for c in inspect(connection).get_columns("ratings") if c["name"] == "rating")


def test_data_survives_a_restart(store_url):
    store = RatingStore(store_url, user_id_floor=FLOOR)
    user = store.create_user("M", 18, 3)
    store.put_rating(user.user_id, 1, 5)
    store.close()
    reopened = RatingStore(store_url, user_id_floor=FLOOR)
    assert reopened.history(user.user_id) == [(1, 5.0)]
    assert reopened.create_user().user_id == user.user_id + 1  # ids are never handed out twice


def test_a_larger_floor_raises_the_next_id_and_a_smaller_one_never_lowers_it(store_url):
    RatingStore(store_url, user_id_floor=FLOOR).create_user()
    assert RatingStore(store_url, user_id_floor=9000).create_user().user_id == 9001
    assert RatingStore(store_url, user_id_floor=10).create_user().user_id == 9002


def test_concurrent_writes_from_threads_lose_and_duplicate_nothing(store_url):
    store = RatingStore(store_url, user_id_floor=FLOOR, timeout_s=10)

    def work(worker: int) -> int:
        for movie in range(1, 21):
            store.put_rating(worker, movie, 1 + (movie + worker) % 5)
            store.put_rating(999, 1, 1 + worker % 5)  # every thread rewrites the same (user, movie)
        return store.create_user().user_id

    with ThreadPoolExecutor(8) as pool:
        ids = list(pool.map(work, range(1, 9)))
    assert len(set(ids)) == 8 and min(ids) > FLOOR
    for worker in range(1, 9):
        assert store.history(worker) == [(m, float(1 + (m + worker) % 5)) for m in range(1, 21)]
    assert len(store.ratings_of(999)) == 1
    assert row_count(store) == 8 * 20 + 1


def _process_worker(url: str, worker: int) -> list[int]:
    store = RatingStore(url, user_id_floor=FLOOR, timeout_s=10)  # every process migrates the fresh database
    ids = []
    for movie in range(1, 11):
        ids.append(store.create_user().user_id)
        store.put_rating(worker, movie, 3)
        store.put_rating(999, movie, 1 + worker % 5)
    return ids


def test_concurrent_processes_share_the_database_without_duplicate_ids(store_url):
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        ids = [i for chunk in pool.starmap(_process_worker, [(store_url, w) for w in range(1, 5)]) for i in chunk]
    assert len(ids) == 40 and len(set(ids)) == 40 and min(ids) > FLOOR
    store = RatingStore(store_url, user_id_floor=FLOOR)
    for worker in range(1, 5):
        assert [m for m, _ in store.history(worker)] == list(range(1, 11))
    assert sorted(m for m, _ in store.history(999)) == list(range(1, 11))
    assert row_count(store) == 4 * 10 + 10


def test_an_unreachable_server_raises_store_unavailable_naming_it():
    store = RatingStore("postgresql://movierec:secret@127.0.0.1:1/movierec", timeout_s=1)
    with pytest.raises(StoreUnavailable, match=r"ratings database \(postgresql\+psycopg://movierec:\*\*\*@127") as err:
        store.put_rating(1, 1, 4)
    assert "secret" not in str(err.value)
    with pytest.raises(StoreUnavailable):
        store.history(1)


def test_a_sqlite_file_locked_beyond_the_timeout_raises_store_unavailable(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    store = RatingStore(url, user_id_floor=FLOOR, timeout_s=0.2)
    store.put_rating(1, 1, 4)
    blocker = sqlite3.connect(tmp_path / "store.sqlite3", isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable, match="database is locked"):
            store.put_rating(1, 2, 5)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert store.history(1) == [(1, 4.0)]
    store.put_rating(1, 2, 5)  # works again once the lock is gone
    assert store.history(1)[-1] == (2, 5.0)


def test_postgres_urls_as_providers_write_them_mean_psycopg():
    assert RatingStore("postgres://u@h/db").url.drivername == "postgresql+psycopg"
    with pytest.raises(ValueError, match="unsupported DATABASE_URL backend 'mysql'"):
        RatingStore("mysql://u@h/db")
