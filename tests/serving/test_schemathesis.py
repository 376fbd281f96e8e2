"""Property-based API test: schemathesis generates requests from /openapi.json; responses must match the schema."""

import tempfile

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from serving.config import Settings
from serving.main import create_app

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# The schema does not depend on the bundle, so it is built at collection time by an app that never starts;
# the requests go in-process (ASGI) to `served_app`, the same app over the synthetic bundle.
schema = schemathesis.openapi.from_dict(create_app(Settings(artifacts_dir=tempfile.gettempdir())).openapi())


@pytest.fixture(scope="module")
def served_app(synthetic_bundle):
    app = create_app(Settings(artifacts_dir=synthetic_bundle))
    with TestClient(app):  # runs the lifespan: the bundle is loaded for every generated request
        yield app


@schema.parametrize()
@settings(max_examples=30, derandomize=True, deadline=None, database=None, suppress_health_check=list(HealthCheck))
def test_every_operation_conforms_to_the_schema(case, served_app):
    case.call_and_validate(app=served_app, checks=CHECKS)
