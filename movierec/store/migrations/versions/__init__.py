"""Alembic revisions of the ratings store (a package so that wheels ship them)."""
