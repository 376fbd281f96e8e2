"""Alembic migrations of the ratings store (run by RatingStore.ensure_ready, not imported as a package)."""
