"""Bundle contract: schema version check, checksums before unpickling, resolve rules."""

import json
import shutil

import pytest

from movierec.artifacts import CURRENT, load_bundle, read_manifest, resolve_bundle
from movierec.errors import BundleError


@pytest.fixture()
def root_copy(synthetic_bundle, tmp_path):
    return shutil.copytree(synthetic_bundle, tmp_path / "artifacts", symlinks=True)


def test_resolve_current_or_folder(root_copy):
    folder = resolve_bundle(root_copy)
    assert folder == (root_copy / CURRENT).resolve()
    assert resolve_bundle(folder) == folder
    with pytest.raises(BundleError, match="make train"):
        resolve_bundle(root_copy / "nope")


def test_unsupported_schema_is_refused(root_copy):
    manifest_path = resolve_bundle(root_copy) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["schema_version"] = 999
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="schema_version 999 is not supported"):
        read_manifest(root_copy)


def test_joblib_is_not_opened_when_checksum_fails(root_copy, monkeypatch):
    folder = resolve_bundle(root_copy)
    (folder / "feature_space.joblib").write_bytes(b"not a pickle")
    opened = []
    monkeypatch.setattr("joblib.load", lambda *a, **k: opened.append(a))
    with pytest.raises(BundleError, match="feature_space.joblib"):
        load_bundle(root_copy)
    assert opened == []


def test_manifest_missing_required_file_is_refused(root_copy):
    manifest_path = resolve_bundle(root_copy) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    del manifest["files"]["ranking_model.keras"]
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="ranking_model.keras"):
        load_bundle(root_copy)
