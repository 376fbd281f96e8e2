"""Alembic environment: runs on the connection RatingStore passes in, or on sqlalchemy.url / DATABASE_URL."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine

from movierec.store.models import Base
from movierec.store.store import default_url, normalise_url

config = context.config
target_metadata = Base.metadata


def configured_url():
    return normalise_url(config.get_main_option("sqlalchemy.url") or os.environ.get("DATABASE_URL") or default_url())


if context.is_offline_mode():
    context.configure(url=configured_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (connection := config.attributes.get("connection")) is not None:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
else:
    with create_engine(configured_url()).connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
