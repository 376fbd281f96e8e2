"""Users created through the API and live ratings (one per user and movie).

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), sa.Identity(), primary_key=True),
        sa.Column("gender", sa.String(1), nullable=True),
        sa.Column("age", sa.SmallInteger(), nullable=True),
        sa.Column("occupation", sa.SmallInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("gender IN ('F', 'M')", name="ck_users_gender"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "ratings",
        sa.Column("user_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("movie_id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("rating", sa.SmallInteger(), nullable=False),
        sa.Column("rated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name="ck_ratings_rating"),
    )
    op.create_index("ix_ratings_user_rated_at", "ratings", ["user_id", "rated_at"])


def downgrade() -> None:
    op.drop_index("ix_ratings_user_rated_at", table_name="ratings")
    op.drop_table("ratings")
    op.drop_table("users")
