"""Archive handling: local archives are format-checked, downloads are md5-checked, nothing partial remains."""

import hashlib
import re
import zipfile

import pytest
import requests

from movierec.data import archive
from movierec.data.archive import check_archive_format, download_official, extract_archive, obtain_archive
from movierec.datasets import ml1m
from movierec.errors import DataFormatError, DownloadError
from tests.movierec.data import broken
from tests.synthetic import synthetic_files, write_archive

HINT = "DATA_ZIP=/path/to/ml-1m.zip"


def _no_download(dest):
    raise AssertionError(f"a local archive was given, yet {dest} was downloaded")


def test_local_archive_is_accepted_after_format_check(synthetic_zip, tmp_path):
    assert obtain_archive(tmp_path, synthetic_zip, ml1m.LAYOUT, _no_download) == synthetic_zip.resolve()


def test_missing_local_archive_is_named(tmp_path):
    with pytest.raises(DataFormatError, match="no such file"):
        obtain_archive(tmp_path, tmp_path / "nope.zip", ml1m.LAYOUT, _no_download)


def test_non_zip_is_refused(tmp_path):
    bad = tmp_path / "ml-1m.zip"
    bad.write_text("not a zip")
    with pytest.raises(DataFormatError, match="not a zip archive"):
        check_archive_format(bad, ml1m.LAYOUT)


def test_archive_missing_a_member_names_it(tmp_path):
    files = synthetic_files(n_users=20, n_movies=12)
    del files["users.dat"]
    path = write_archive(tmp_path / "ml-1m.zip", files)
    with pytest.raises(DataFormatError, match="missing ml-1m/users.dat"):
        check_archive_format(path, ml1m.LAYOUT)


def test_truncated_archive_is_refused(synthetic_zip, tmp_path):
    cut = tmp_path / "cut.zip"
    cut.write_bytes(synthetic_zip.read_bytes()[: synthetic_zip.stat().st_size // 2])
    with pytest.raises(DataFormatError):
        check_archive_format(cut, ml1m.LAYOUT)


def test_extract_is_idempotent_and_records_source(synthetic_zip, tmp_path):
    target = extract_archive(synthetic_zip, tmp_path, ml1m.LAYOUT)
    assert sorted(p.name for p in target.iterdir() if not p.name.startswith(".")) == [
        "movies.dat",
        "ratings.dat",
        "users.dat",
    ]
    stamp = (target / "ratings.dat").stat().st_mtime_ns
    assert extract_archive(synthetic_zip, tmp_path, ml1m.LAYOUT) == target
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
    dest = download_official(tmp_path / "ml-1m.zip", "http://x/ml-1m.zip", hashlib.md5(payload).hexdigest(), HINT)
    assert dest.read_bytes() == payload
    assert not list(tmp_path.glob("*.part"))


def test_download_md5_mismatch_deletes_partial_file(monkeypatch, tmp_path):
    monkeypatch.setattr(archive.requests, "get", lambda *a, **k: _FakeResponse(b"corrupted bytes"))
    with pytest.raises(DownloadError, match="does not match the official"):
        download_official(tmp_path / "ml-1m.zip", "http://x/ml-1m.zip", "0" * 32, HINT)
    assert list(tmp_path.iterdir()) == []


def test_download_offline_gives_clear_error(monkeypatch, tmp_path):
    def offline(*args, **kwargs):
        raise requests.ConnectionError("Name or service not known")

    monkeypatch.setattr(archive.requests, "get", offline)
    with pytest.raises(DownloadError, match=f"Offline\\? Pass a local archive instead: make train {re.escape(HINT)}$"):
        download_official(tmp_path / "ml-1m.zip", "http://x/ml-1m.zip", "0" * 32, HINT)
    assert list(tmp_path.iterdir()) == []


def test_synthetic_archive_layout_matches_official(synthetic_zip):
    with zipfile.ZipFile(synthetic_zip) as z:
        assert {"ml-1m/ratings.dat", "ml-1m/users.dat", "ml-1m/movies.dat"} <= set(z.namelist())


@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_flipped_byte_names_archive_and_member(tmp_path, where):
    path = broken.flipped_byte(tmp_path / "ml-1m.zip", where)
    with pytest.raises(DataFormatError, match=r"ml-1m\.zip: member ml-1m/ratings\.dat is corrupt"):
        check_archive_format(path, ml1m.LAYOUT)


def test_flipped_byte_in_stored_member_is_a_crc_error(tmp_path):
    path = broken.flipped_byte(tmp_path / "ml-1m.zip", "middle", zipfile.ZIP_STORED)
    with pytest.raises(DataFormatError, match=r"member ml-1m/ratings\.dat is corrupt \(zipfile\.BadZipFile: Bad CRC"):
        check_archive_format(path, ml1m.LAYOUT)


def test_extraction_of_a_corrupt_member_names_it_and_leaves_nothing(tmp_path):
    """extract_archive is also called without check_archive_format (tests, notebooks): it must guard its reads."""
    path = broken.flipped_byte(tmp_path / "ml-1m.zip", "start")
    with pytest.raises(DataFormatError, match=r"member ml-1m/ratings\.dat is corrupt"):
        extract_archive(path, tmp_path / "raw", ml1m.LAYOUT)
    assert list((tmp_path / "raw").iterdir()) == []


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (broken.truncated, r"not a zip archive, or a truncated one"),
        (broken.hole_in_the_middle, r"ml-1m\.zip: (damaged zip archive|member ml-1m/\S+ is corrupt)"),
        (broken.symlink_member, r"member ml-1m/ratings\.dat is a symbolic link; only regular files are allowed"),
        (broken.escaping_member, r"member 'ml-1m/\.\./\.\./escaped\.txt' has an unsafe path; members must stay inside"),
        (broken.absolute_member, r"member '/tmp/absolute\.txt' has an unsafe path"),
        (broken.duplicate_member, r"member ml-1m/ratings\.dat appears twice"),
    ],
)
def test_damaged_or_hostile_archive_is_refused_in_one_line(tmp_path, build, message):
    path = build(tmp_path / "ml-1m.zip")
    with pytest.raises(DataFormatError, match=message) as info:
        check_archive_format(path, ml1m.LAYOUT)
    assert "\n" not in str(info.value)
    with pytest.raises(DataFormatError, match=message):
        extract_archive(path, tmp_path / "raw", ml1m.LAYOUT)
    assert not (tmp_path / "raw").exists() or list((tmp_path / "raw").iterdir()) == []
    assert not list(tmp_path.rglob("escaped.txt"))


def test_zip_bomb_is_refused_before_anything_is_written(tmp_path):
    path = broken.zip_bomb(tmp_path / "ml-1m.zip", expanded_bytes=3 << 20)
    limit = 2 << 20
    with pytest.raises(DataFormatError, match=r"declare [\d,]+ bytes uncompressed; at most 2,097,152 are allowed"):
        check_archive_format(path, ml1m.LAYOUT, max_bytes=limit)
    with pytest.raises(DataFormatError, match="at most 2,097,152 are allowed"):
        extract_archive(path, tmp_path / "raw", ml1m.LAYOUT, max_bytes=limit)
    assert not (tmp_path / "raw").exists() or list((tmp_path / "raw").iterdir()) == []


def test_the_size_limit_leaves_room_for_the_real_archive():
    assert ml1m.MAX_EXTRACTED_BYTES >= 3 * 25_000_000


def test_failed_validation_keeps_the_previous_extraction(synthetic_zip, tmp_path):
    raw = tmp_path / "raw"
    good = extract_archive(synthetic_zip, raw, ml1m.LAYOUT)
    before = {p.name: p.read_bytes() for p in good.iterdir()}

    def refuse(staging):
        assert (staging / "ratings.dat").is_file() and staging != good
        raise DataFormatError("ratings.dat line 2: rating 7 outside 1-5")

    other = broken.rating_seven(tmp_path / "other.zip")
    with pytest.raises(DataFormatError, match="rating 7"):
        extract_archive(other, raw, ml1m.LAYOUT, validate=refuse)
    assert {p.name: p.read_bytes() for p in good.iterdir()} == before
    assert [p.name for p in raw.iterdir()] == ["ml-1m"]


def test_validated_extraction_replaces_the_previous_one(synthetic_zip, tmp_path):
    raw = tmp_path / "raw"
    extract_archive(synthetic_zip, raw, ml1m.LAYOUT)
    seen = []
    other = write_archive(tmp_path / "other.zip", synthetic_files(n_users=20, n_movies=12))
    target = extract_archive(other, raw, ml1m.LAYOUT, validate=seen.append)
    assert len(seen) == 1
    assert archive.archive_sha256(target) == hashlib.sha256(other.read_bytes()).hexdigest()
    assert [p.name for p in raw.iterdir()] == ["ml-1m"]


def test_missing_extraction_record_is_a_clear_error(tmp_path):
    with pytest.raises(DataFormatError, match=r"\.source\.json: missing or unreadable extraction record"):
        archive.archive_sha256(tmp_path)


def test_hostile_member_name_cannot_break_the_one_line_error(tmp_path):
    path = tmp_path / "ml-1m.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name, content in synthetic_files(n_users=20, n_movies=12).items():
            z.writestr(f"ml-1m/{name}", content)
        link = zipfile.ZipInfo("ml-1m/x\nerror: fake second line")
        link.external_attr = (0o120777) << 16
        z.writestr(link, "/etc/passwd")
    with pytest.raises(DataFormatError, match="is a symbolic link") as info:
        check_archive_format(path, ml1m.LAYOUT)
    assert "\n" not in str(info.value)
