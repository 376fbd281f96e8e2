"""Each store test runs on a temp SQLite file and on a throwaway PostgreSQL cluster."""

import pytest

from tests.movierec.store.postgres import postgres_cluster, postgres_url  # noqa: F401  (fixtures)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.sqlite3'}"
    return request.getfixturevalue("postgres_url")
