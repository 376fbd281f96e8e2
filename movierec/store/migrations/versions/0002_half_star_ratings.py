"""Half-star ratings: the rating column becomes NUMERIC(3, 1) and its check 0.5-5.0; existing ratings are kept.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# Stated here, not imported from movierec.store.models: a migration keeps meaning what it meant when written.
WHOLE_STARS = "rating BETWEEN 1 AND 5"
HALF_STARS = "rating BETWEEN 0.5 AND 5.0"


def upgrade() -> None:
    # SQLite cannot alter a column or a constraint in place: batch mode copies the table into one with the new type
    # and check (same rows, same index). PostgreSQL alters the column and swaps the check in place. Which ratings a
    # served dataset allows (whole stars for MovieLens-1M, half stars for the CSV family) is the API's check.
    with op.batch_alter_table("ratings") as batch:
        batch.drop_constraint("ck_ratings_rating", type_="check")
        batch.alter_column("rating", type_=sa.Numeric(3, 1), existing_type=sa.SmallInteger(), existing_nullable=False)
        batch.create_check_constraint("ck_ratings_rating", HALF_STARS)


def downgrade() -> None:
    bind = op.get_bind()
    off_scale = bind.execute(
        sa.text("SELECT COUNT(*) FROM ratings WHERE rating <> ROUND(rating) OR rating < 1")
    ).scalar_one()
    if off_scale:
        raise RuntimeError(
            f"cannot downgrade the ratings store to whole stars: {off_scale} stored ratings are half stars or below 1 "
            "(revision 0001 holds whole stars 1-5 only); remove or change them first"
        )
    with op.batch_alter_table("ratings") as batch:
        batch.drop_constraint("ck_ratings_rating", type_="check")
        batch.alter_column("rating", type_=sa.SmallInteger(), existing_type=sa.Numeric(3, 1), existing_nullable=False)
        batch.create_check_constraint("ck_ratings_rating", WHOLE_STARS)
