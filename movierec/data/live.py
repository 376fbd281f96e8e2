"""Live ratings from the rating store, folded into the next training run after the archive's training period."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from movierec.config import DATA_DIR, UNKNOWN_AGE, UNKNOWN_GENDER, UNKNOWN_OCCUPATION
from movierec.data.split import Split
from movierec.errors import MovieRecError
from movierec.store import RatingStore, StoreError, default_url
from movierec.store.models import Rating, User
from movierec.store.store import normalise_url

# A created user's missing demographics go into the users table as movierec.config's UNKNOWN_* values: the
# FeatureSpace encodes them as unknown (index 0, as the API's new-user path does).
RATING_COLUMNS = ("user_id", "movie_id", "rating", "timestamp")
USER_COLUMNS = ("user_id", "gender", "age", "occupation", "zip")


class LiveDataError(MovieRecError):
    """The rating store could not be read (database down, locked, or not a rating store)."""


@dataclass(frozen=True)
class LiveData:
    """What the store holds: live ratings (rated_at as UTC epoch seconds, not remapped) and created users."""

    source: str | None  # the store's URL (password hidden); None when none was configured
    found: bool = True  # False: the configured SQLite file does not exist (nothing to read)
    ratings: pd.DataFrame = field(default_factory=lambda: _ratings_frame([], [], [], []))
    users: pd.DataFrame = field(default_factory=lambda: _users_frame([], [], [], []))

    @classmethod
    def empty(cls) -> LiveData:
        return cls(source=None)


@dataclass(frozen=True)
class FoldedIn:
    """The split and users table a training run uses, and what was folded in (the manifest's `live_ratings`)."""

    split: Split
    users: pd.DataFrame
    summary: dict


def default_database_url(data_dir: Path | None = None) -> str | None:
    """DATABASE_URL when set, else the SQLite store under the data folder when that file exists, else None."""
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    url = default_url(Path(data_dir) if data_dir else DATA_DIR)
    return url if Path(normalise_url(url).database).is_file() else None


def read_live(url: str | None) -> LiveData:
    """Every live rating and created user in the store at url (None: no store, nothing to fold in)."""
    if url is None:
        return LiveData.empty()
    try:
        store = RatingStore(url)
    except (ValueError, sa_exc.ArgumentError) as exc:
        raise LiveDataError(f"cannot use the rating store {url!r}: {exc}") from exc
    path = store.sqlite_path
    if path is not None and not path.is_file():
        store.close()
        return LiveData(source=store.display_url, found=False)  # never create a store just to read it
    try:
        store.ensure_ready()
        with store.engine.connect() as connection:
            ratings = connection.execute(
                select(Rating.__table__).order_by(Rating.rated_at, Rating.user_id, Rating.movie_id)
            ).all()
            users = connection.execute(select(User.__table__).order_by(User.id)).all()
    except (sa_exc.SQLAlchemyError, StoreError, OSError) as exc:
        raise LiveDataError(f"cannot read the rating store {store.display_url}: {exc}") from exc
    finally:
        store.close()
    return LiveData(
        source=store.display_url,
        ratings=_ratings_frame(
            [r.user_id for r in ratings],
            [r.movie_id for r in ratings],
            [r.rating for r in ratings],
            [_epoch(r.rated_at) for r in ratings],
        ),
        users=_users_frame(
            [u.id for u in users], [u.gender for u in users], [u.age for u in users], [u.occupation for u in users]
        ),
    )


def fold_in(split: Split, users: pd.DataFrame, movies: pd.DataFrame, live: LiveData) -> FoldedIn:
    """split.train + the live ratings (remapped after the cut-off, replacing archive ratings of the same user and
    movie), users + the created users; the test split is returned unchanged.

    Timestamps are remapped: live ratings get the archive's last training timestamp + 1, + 2, ... seconds, in the
    order they were given (rated_at, then user and movie id). The models use time relative to the training cut-off
    (recency weights, example age, "last 30 days" popularity), and real rating dates decades after the archive
    would make every archive rating look decades old; the real dates stay in the store. Live ratings of users that
    are neither in the users table nor created, or of movies not in the catalogue, are left out and counted.
    """
    created = live.users[~live.users["user_id"].isin(users["user_id"])]
    all_users = pd.concat([users, created], ignore_index=True) if len(created) else users
    ratings = live.ratings
    known = ratings["user_id"].isin(all_users["user_id"]) & ratings["movie_id"].isin(movies["movie_id"])
    kept = ratings[known.to_numpy()].sort_values(["timestamp", "user_id", "movie_id"], kind="stable")
    last = int(split.train["timestamp"].max())
    kept = kept.assign(timestamp=last + 1 + np.arange(len(kept), dtype=np.int64)).astype(split.train.dtypes.to_dict())
    train = split.train
    replaced = 0
    if len(kept):
        pairs = pd.MultiIndex.from_frame(kept[["user_id", "movie_id"]])
        again = pd.MultiIndex.from_frame(train[["user_id", "movie_id"]]).isin(pairs)
        replaced = int(again.sum())
        train = pd.concat([train[~again], kept], ignore_index=True)
    folded = Split(train=train, test=split.test, cutoff_timestamp=int(train["timestamp"].iloc[-1]))
    summary = {
        "source": live.source,
        "store_found": live.source is not None and live.found,
        "ratings": int(len(kept)),
        "users": int(kept["user_id"].nunique()),
        "created_users": int(len(created)),
        "replaced_archive_ratings": replaced,
        "skipped_unknown": int(len(ratings) - len(kept)),
        "timestamps": "remapped to the archive's last training timestamp + 1, + 2, ... s in rating order",
    }
    return FoldedIn(split=folded, users=all_users, summary=summary)


def describe(summary: dict) -> str:
    """One printed line about what was folded in."""
    if summary["source"] is None:
        return "live ratings: no rating store (no DATABASE_URL, no movierec.sqlite3 in the data folder): none folded in"
    if not summary["store_found"]:
        return f"live ratings: no store file at {summary['source']}: none folded in"
    return (
        f"live ratings: {summary['ratings']:,} ratings of {summary['users']:,} users folded in "
        f"({summary['created_users']:,} created users, {summary['replaced_archive_ratings']:,} archive ratings "
        f"replaced, {summary['skipped_unknown']:,} of unknown users/movies skipped) from {summary['source']}"
    )


def _epoch(value: dt.datetime) -> int:
    if value.tzinfo is None:  # SQLite returns naive datetimes: the store writes UTC
        value = value.replace(tzinfo=dt.UTC)
    return int(value.timestamp())


def _ratings_frame(user_ids, movie_ids, ratings, timestamps) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": np.asarray(user_ids, dtype=np.int32),
            "movie_id": np.asarray(movie_ids, dtype=np.int32),
            "rating": np.asarray(ratings, dtype=np.float32),  # half stars stay 4.5
            "timestamp": np.asarray(timestamps, dtype=np.int64),
        }
    )


def _users_frame(user_ids, genders, ages, occupations) -> pd.DataFrame:
    """Created users in the users table's columns and dtypes; missing demographics as the UNKNOWN_* values."""
    return pd.DataFrame(
        {
            "user_id": np.asarray(user_ids, dtype=np.int32),
            "gender": pd.array([UNKNOWN_GENDER if g is None else g for g in genders], dtype="string"),
            "age": np.asarray([UNKNOWN_AGE if a is None else a for a in ages], dtype=np.int16),
            "occupation": np.asarray([UNKNOWN_OCCUPATION if o is None else o for o in occupations], dtype=np.int16),
            "zip": pd.array([""] * len(user_ids), dtype="string"),
        }
    )
