"""A TestClient over the app with the synthetic bundle (lifespan runs: used as a context manager)."""

import pytest
from fastapi.testclient import TestClient

from serving.config import Settings
from serving.main import create_app

TOKEN = "test-admin-token"


@pytest.fixture(scope="module")
def client(synthetic_bundle):
    app = create_app(Settings(artifacts_dir=synthetic_bundle, admin_token=TOKEN))
    with TestClient(app) as test_client:
        yield test_client
