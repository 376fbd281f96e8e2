"""Archive handling: local archives are format-checked, downloads are md5-checked, nothing partial remains."""

import hashlib
import zipfile

import pytest
import requests

from movierec.data import archive
from movierec.data.archive import check_archive_format, download_official, extract_archive, obtain_archive
from movierec.errors import DataFormatError, DownloadError
from tests.synthetic import synthetic_files, write_archive


def test_local_archive_is_accepted_after_format_check(synthetic_zip, tmp_path):
    assert obtain_archive(tmp_path, synthetic_zip) == synthetic_zip.resolve()


def test_missing_local_archive_is_named(tmp_path):
    with pytest.raises(DataFormatError, match="no such file"):
        obtain_archive(tmp_path, tmp_path / "nope.zip")


def test_non_zip_is_refused(tmp_path):
    bad = tmp_path / "ml-1m.zip"
    bad.write_text("not a zip")
    with pytest.raises(DataFormatError, match="not a zip archive"):
        check_archive_format(bad)


def test_archive_missing_a_member_names_it(tmp_path):
    files = synthetic_files(n_users=20, n_movies=12)
    del files["users.dat"]
    path = write_archive(tmp_path / "ml-1m.zip", files)
    with pytest.raises(DataFormatError, match="missing ml-1m/users.dat"):
        check_archive_format(path)


def test_truncated_archive_is_refused(synthetic_zip, tmp_path):
    cut = tmp_path / "cut.zip"
    cut.write_bytes(synthetic_zip.read_bytes()[: synthetic_zip.stat().st_size // 2])
    with pytest.raises(DataFormatError):
        check_archive_format(cut)


def test_extract_is_idempotent_and_records_source(synthetic_zip, tmp_path):
    target = extract_archive(synthetic_zip, tmp_path)
    assert sorted(p.name for p in target.iterdir() if not p.name.startswith(".")) == [
        "movies.dat",
        "ratings.dat",
        "users.dat",
    ]
    stamp = (target / "ratings.dat").stat().st_mtime_ns
    assert extract_archive(synthetic_zip, tmp_path) == target
    assert (target / "ratings.dat").stat().st_mtime_ns == stamp
    assert archive.archive_sha256(target) == hashlib.sha256(synthetic_zip.read_bytes()).hexdigest()


class _FakeResponse:
    def __init__(self, payload: bytes):
        self.payload = payload
        self.headers = {"content-length": str(len(payload))}

    def raise_for_status(self):
        pass

    def iter_content(self, chunk_size):
        yield from (self.payload[i : i + chunk_size] for i in range(0, len(self.payload), chunk_size))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_download_verifies_md5_and_keeps_good_file(monkeypatch, synthetic_zip, tmp_path):
    payload = synthetic_zip.read_bytes()
    monkeypatch.setattr(archive.requests, "get", lambda *a, **k: _FakeResponse(payload))
    dest = download_official(tmp_path / "ml-1m.zip", url="http://x/ml-1m.zip", md5=hashlib.md5(payload).hexdigest())
    assert dest.read_bytes() == payload
    assert not list(tmp_path.glob("*.part"))


def test_download_md5_mismatch_deletes_partial_file(monkeypatch, tmp_path):
    monkeypatch.setattr(archive.requests, "get", lambda *a, **k: _FakeResponse(b"corrupted bytes"))
    with pytest.raises(DownloadError, match="does not match the official"):
        download_official(tmp_path / "ml-1m.zip", url="http://x/ml-1m.zip", md5="0" * 32)
    assert list(tmp_path.iterdir()) == []


def test_download_offline_gives_clear_error(monkeypatch, tmp_path):
    def offline(*args, **kwargs):
        raise requests.ConnectionError("Name or service not known")

    monkeypatch.setattr(archive.requests, "get", offline)
    with pytest.raises(DownloadError, match="Offline\\? Pass a local archive"):
        download_official(tmp_path / "ml-1m.zip")
    assert list(tmp_path.iterdir()) == []


def test_synthetic_archive_layout_matches_official(synthetic_zip):
    with zipfile.ZipFile(synthetic_zip) as z:
        assert {"ml-1m/ratings.dat", "ml-1m/users.dat", "ml-1m/movies.dat"} <= set(z.namelist())
