"""RatingStore: the one place that reads and writes live users and ratings (SQLite by default, or PostgreSQL).

Every database failure (server down, file locked beyond the busy timeout, statement timeout) is raised as
StoreUnavailable, so callers can answer "try again" instead of failing. The schema is created and upgraded by
the Alembic migrations in movierec/store/migrations on first use, one process at a time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import logging
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, create_engine, delete, event, func, select, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.engine.url import URL

from movierec.config import DATA_DIR, MAX_ID  # larger ids never reach the database
from movierec.store.models import RATING_MAX, RATING_MIN, RATING_STEP, Rating, User

log = logging.getLogger("movierec.store")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DEFAULT_SQLITE_NAME = "movierec.sqlite3"
PG_LOCK_KEY = 0x6D6F7669  # pg_advisory_xact_lock key that serialises migrations across processes
HISTORY_QUERY = text("SELECT movie_id, rating FROM ratings WHERE user_id = :user_id ORDER BY rated_at, movie_id")
DATABASE_ERRORS = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError, sa_exc.TimeoutError)


class StoreError(Exception):
    """Base class of the store's errors."""


class StoreUnavailable(StoreError):
    """The database cannot be reached, or stayed locked/busy beyond the store's timeout."""


@dataclass(frozen=True)
class StoredUser:
    user_id: int
    gender: str | None
    age: int | None
    occupation: int | None
    created_at: dt.datetime


@dataclass(frozen=True)
class LiveRating:
    user_id: int
    movie_id: int
    rating: float
    rated_at: dt.datetime


def default_url(data_dir: Path = DATA_DIR) -> str:
    """The default store: an SQLite file in the project's data folder."""
    return f"sqlite:///{Path(data_dir).resolve() / DEFAULT_SQLITE_NAME}"


def normalise_url(url: str | URL) -> URL:
    """postgres:// and postgresql:// (as hosting providers write them) mean psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(f"unsupported DATABASE_URL backend {parsed.get_backend_name()!r}: use sqlite or postgresql")
    return parsed


def is_storable_rating(rating) -> bool:
    """A finite number within RATING_MIN-RATING_MAX on a RATING_STEP step (what the rating column holds exactly)."""
    try:
        value = float(rating)
    except (TypeError, ValueError):
        return False
    if not (math.isfinite(value) and RATING_MIN <= value <= RATING_MAX):
        return False
    steps = (value - RATING_MIN) / RATING_STEP
    return steps == round(steps)


def _utc(value: dt.datetime) -> dt.datetime:
    """SQLite returns naive datetimes: everything the store writes is UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class RatingStore:
    """Users created through the API and live ratings (one per user and movie), behind one small interface.

    `user_id_floor` is the dataset's largest user id: created users get ids above it. Nothing connects until
    the first call (or ensure_ready()); a database that is down at start is retried on every later call.
    """

    def __init__(self, url: str | URL, *, user_id_floor: int = 0, timeout_s: float = 2.0):
        self.url = normalise_url(url)
        self.backend = self.url.get_backend_name()
        self.user_id_floor = int(user_id_floor)
        self.timeout_s = float(timeout_s)
        self.engine = self._create_engine()
        self._ready = False
        self._ready_lock = threading.Lock()

    # ---- connection and schema -------------------------------------------------------------------
    @property
    def is_local(self) -> bool:
        """A local SQLite file: reads never wait for a writer (WAL) and a write is a short local transaction, not a
        network round trip."""
        return self.backend == "sqlite"

    @property
    def display_url(self) -> str:
        return self.url.render_as_string(hide_password=True)

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file of this store (None for PostgreSQL or an in-memory database)."""
        database = self.url.database
        if self.backend != "sqlite" or not database or database == ":memory:" or database.startswith("file:"):
            return None
        return Path(database)

    def _create_engine(self) -> Engine:
        timeout_ms = int(self.timeout_s * 1000)
        if self.backend == "sqlite":
            path = self.sqlite_path
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(  # no pre-ping: a local file has no connection to go stale (one query saved)
                self.url, connect_args={"timeout": self.timeout_s, "check_same_thread": False}
            )

            @event.listens_for(engine, "connect")
            def sqlite_pragmas(dbapi_connection, _record):
                cursor = dbapi_connection.cursor()
                cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")
                cursor.execute("PRAGMA journal_mode = WAL")  # readers in other processes never wait for the writer
                cursor.execute("PRAGMA synchronous = NORMAL")
                cursor.execute("PRAGMA foreign_keys = ON")
                cursor.close()

            return engine
        return create_engine(
            self.url,
            pool_pre_ping=True,
            pool_timeout=self.timeout_s,
            connect_args={
                "connect_timeout": max(1, round(self.timeout_s)),
                "options": f"-c lock_timeout={timeout_ms} -c statement_timeout={timeout_ms * 5}",
            },
        )

    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        reason = lines[0] if lines else type(exc).__name__
        return StoreUnavailable(f"the ratings database ({self.display_url}) is unavailable: {reason}")

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        """One migrating process at a time (PostgreSQL takes an advisory lock inside the migration itself)."""
        path = self.sqlite_path
        if path is None:
            yield
            return
        with open(path.with_name(path.name + ".migrate-lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _migrate(self) -> None:
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS_DIR))
        with self._migration_lock(), self.engine.begin() as connection:
            if self.backend == "postgresql":
                connection.execute(select(func.pg_advisory_xact_lock(PG_LOCK_KEY)))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            self._apply_user_id_floor(connection)

    def _apply_user_id_floor(self, connection: Connection) -> None:
        """Make the next created user id larger than user_id_floor (never lowers it)."""
        floor = self.user_id_floor
        if self.backend == "sqlite":
            connection.execute(
                text("UPDATE sqlite_sequence SET seq = :floor WHERE name = 'users' AND seq < :floor"), {"floor": floor}
            )
            connection.execute(
                text(
                    "INSERT INTO sqlite_sequence (name, seq) SELECT 'users', :floor "
                    "WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'users')"
                ),
                {"floor": floor},
            )
            return
        connection.execute(text("LOCK TABLE users IN SHARE ROW EXCLUSIVE MODE"))  # no user is created meanwhile
        sequence = connection.execute(text("SELECT pg_get_serial_sequence('users', 'id')")).scalar_one()
        last, called = connection.execute(text(f"SELECT last_value, is_called FROM {sequence}")).one()
        issued = last if called else last - 1
        if issued < floor:
            connection.execute(text("SELECT setval(:seq, :floor, true)"), {"seq": sequence, "floor": floor})

    def ensure_ready(self) -> None:
        """Create or upgrade the schema once per process; StoreUnavailable when the database cannot be reached."""
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            try:
                self._migrate()
            except DATABASE_ERRORS as exc:
                raise self._unavailable(exc) from exc
            self._ready = True
            log.info("ratings store ready at %s", self.display_url)

    @contextlib.contextmanager
    def _connection(self, write: bool) -> Iterator[Connection]:
        self.ensure_ready()
        try:
            with self.engine.begin() if write else self.engine.connect() as connection:
                yield connection
        except DATABASE_ERRORS as exc:
            raise self._unavailable(exc) from exc

    def close(self) -> None:
        self.engine.dispose()

    # ---- users -----------------------------------------------------------------------------------
    def create_user(
        self, gender: str | None = None, age: int | None = None, occupation: int | None = None
    ) -> StoredUser:
        """A new user; the database assigns the id (above user_id_floor), so concurrent processes never share one."""
        created_at = dt.datetime.now(dt.UTC)
        statement = (
            User.__table__.insert()
            .values(gender=gender, age=age, occupation=occupation, created_at=created_at)
            .returning(User.__table__.c.id)
        )
        with self._connection(write=True) as connection:
            user_id = connection.execute(statement).scalar_one()
        return StoredUser(int(user_id), gender, age, occupation, created_at)

    def user(self, user_id: int) -> StoredUser | None:
        if not 0 < user_id <= MAX_ID:
            return None
        table = User.__table__
        with self._connection(write=False) as connection:
            row = connection.execute(select(table).where(table.c.id == user_id)).one_or_none()
        if row is None:
            return None
        return StoredUser(row.id, row.gender, row.age, row.occupation, _utc(row.created_at))

    # ---- ratings ---------------------------------------------------------------------------------
    def put_rating(self, user_id: int, movie_id: int, rating: float, rated_at: dt.datetime | None = None) -> LiveRating:
        """Insert or replace the user's rating of the movie in one statement (INSERT ... ON CONFLICT DO UPDATE).

        Any rating of a MovieLens scale is stored exactly (RATING_MIN-RATING_MAX in RATING_STEP steps); whether the
        served dataset allows it (4.5 is not a MovieLens-1M rating) is checked by the API before it gets here.
        """
        if not is_storable_rating(rating):
            raise ValueError(
                f"rating must be {RATING_MIN:g}-{RATING_MAX:g} in steps of {RATING_STEP:g} (half stars), got {rating}"
            )
        rating = float(rating)
        if not (0 < user_id <= MAX_ID and 0 < movie_id <= MAX_ID):
            raise ValueError(f"user_id and movie_id must be 1-{MAX_ID}, got {user_id} and {movie_id}")
        rated_at = _utc(rated_at or dt.datetime.now(dt.UTC))
        insert = (postgresql if self.backend == "postgresql" else sqlite).insert
        table = Rating.__table__
        statement = insert(table).values(user_id=user_id, movie_id=movie_id, rating=rating, rated_at=rated_at)
        statement = statement.on_conflict_do_update(
            index_elements=[table.c.user_id, table.c.movie_id],
            set_={"rating": statement.excluded.rating, "rated_at": statement.excluded.rated_at},
        )
        with self._connection(write=True) as connection:
            connection.execute(statement)
        return LiveRating(int(user_id), int(movie_id), rating, rated_at)

    def delete_rating(self, user_id: int, movie_id: int) -> bool:
        """Remove a live rating; False when there was none."""
        if not (0 < user_id <= MAX_ID and 0 < movie_id <= MAX_ID):
            return False
        table = Rating.__table__
        with self._connection(write=True) as connection:
            result = connection.execute(delete(table).where(table.c.user_id == user_id, table.c.movie_id == movie_id))
        return result.rowcount > 0

    def ratings_of(self, user_id: int) -> list[LiveRating]:
        """The user's live ratings, oldest first (the order they join the user's history)."""
        if not 0 < user_id <= MAX_ID:
            return []
        table = Rating.__table__
        query = select(table).where(table.c.user_id == user_id).order_by(table.c.rated_at, table.c.movie_id)
        with self._connection(write=False) as connection:
            rows = connection.execute(query).all()
        return [LiveRating(r.user_id, r.movie_id, float(r.rating), _utc(r.rated_at)) for r in rows]

    def history(self, user_id: int) -> list[tuple[int, float]]:
        """(movie_id, rating) pairs of the user's live ratings, oldest first: what the recommender appends.

        Read on every request of a known user, so it is one prepared statement and plain tuples (no row objects).
        """
        if not 0 < user_id <= MAX_ID:
            return []
        with self._connection(write=False) as connection:
            rows = connection.execute(HISTORY_QUERY, {"user_id": user_id}).all()
        return [(int(movie_id), float(rating)) for movie_id, rating in rows]


__all__ = ["LiveRating", "RatingStore", "StoreError", "StoreUnavailable", "StoredUser", "default_url", "normalise_url"]
