"""The store's tables as SQLAlchemy 2 typed ORM classes (the migrations create exactly these)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, DateTime, Identity, Index, Integer, Numeric, SmallInteger, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The store holds a rating of any MovieLens scale (whole stars 1-5, half stars 0.5-5): the widest range, in half
# steps, which a NUMERIC(3, 1) column holds exactly. Which ratings a served dataset allows is the API's check.
RATING_MIN, RATING_MAX, RATING_STEP = 0.5, 5.0, 0.5


class Base(DeclarativeBase):
    pass


class User(Base):
    """A user created through the API (dataset users live in the bundle, not here)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("gender IN ('F', 'M')", name="ck_users_gender"),
        {"sqlite_autoincrement": True},  # ids are never reused, and the floor set in sqlite_sequence holds
    )

    id: Mapped[int] = mapped_column(Integer, Identity(), primary_key=True)
    gender: Mapped[str | None] = mapped_column(String(1))
    age: Mapped[int | None] = mapped_column(SmallInteger)
    occupation: Mapped[int | None] = mapped_column(SmallInteger)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class Rating(Base):
    """One live rating per (user, movie): a new rating replaces the old one. user_id is a dataset or created user.

    rating is exact (NUMERIC, read back as a float): 4 and 4.5 come back as 4.0 and 4.5.
    """

    __tablename__ = "ratings"
    __table_args__ = (
        CheckConstraint(f"rating BETWEEN {RATING_MIN} AND {RATING_MAX}", name="ck_ratings_rating"),
        Index("ix_ratings_user_rated_at", "user_id", "rated_at"),
    )

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    movie_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rating: Mapped[float] = mapped_column(Numeric(3, 1, asdecimal=False))
    rated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
