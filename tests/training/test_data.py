"""`make data` (python -m training.data) on bad archives: one error line, exit 2, the last good data kept."""

import hashlib
import re
from pathlib import Path

import pytest

from movierec.data.prepare import load_prepared
from movierec.datasets import ml1m
from movierec.datasets.ml1m import MAX_EXTRACTED_BYTES
from tests.movierec.data import broken
from tests.synthetic import synthetic_files, write_archive
from training import data as data_cli
from training import train as train_cli


def _snapshot(root: Path) -> dict[str, bytes]:
    """Every file under root (hidden ones and staging folders included) with its content."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def prepared(synthetic_zip, tmp_path, capsys):
    """A data folder after a successful `make data` of the synthetic archive."""
    data_dir = tmp_path / "data"
    assert data_cli.main(["--archive", str(synthetic_zip), "--data-dir", str(data_dir)]) == 0
    capsys.readouterr()
    return data_dir


BAD_ARCHIVES = {
    "flipped byte (deflate error)": (lambda p: broken.flipped_byte(p, "start"), "member ml-1m/ratings.dat is corrupt"),
    "flipped byte (CRC)": (lambda p: broken.flipped_byte(p, "end"), "member ml-1m/ratings.dat is corrupt"),
    "truncated": (broken.truncated, "not a zip archive, or a truncated one"),
    "hole in the middle": (broken.hole_in_the_middle, "ml-1m.zip: "),
    "not a zip": (broken.not_a_zip, "not a zip archive"),
    "symlink": (broken.symlink_member, "is a symbolic link; only regular files are allowed"),
    "escaping path": (broken.escaping_member, "has an unsafe path; members must stay inside ml-1m/"),
    "utf-16 ratings": (broken.utf16_ratings, "ratings.dat line 1: byte 0xff at column 1 is not allowed"),
    "NUL in users": (broken.nul_in_users, "users.dat line 2: byte 0x00 at column 1 is not allowed"),
    "utf-8 movies": (broken.utf8_movies, r"movies.dat line \d+: the file is UTF-8 encoded; MovieLens-1M movies.dat is"),
    "C1 control in movies": (broken.control_in_movies, "movies.dat line 2: byte 0x85 at column 9 is not allowed"),
    "empty ratings": (broken.empty_ratings, "ratings.dat: the file is empty"),
    "rating 7": (broken.rating_seven, "ratings.dat line 2: rating 7 outside 1-5"),
}


@pytest.mark.parametrize("case", list(BAD_ARCHIVES))
def test_bad_archive_gives_one_line_exit_2_and_keeps_the_good_data(prepared, tmp_path, capsys, case):
    build, message = BAD_ARCHIVES[case]
    before = _snapshot(prepared)
    bad = build(tmp_path / "ml-1m.zip")
    assert data_cli.main(["--archive", str(bad), "--data-dir", str(prepared)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert re.search(message, err) if case == "utf-8 movies" else message in err, err
    assert len(err) < 600
    assert _snapshot(prepared) == before  # nothing half-written, no staging folder, no new cache
    assert not list(tmp_path.rglob("escaped.txt"))


def test_make_evaluate_still_loads_the_good_data_after_a_failed_make_data(prepared, synthetic_zip, tmp_path):
    """Issue 9 item 12: a bad archive used to replace the extraction, so `make evaluate` failed until re-extracted."""
    bad = broken.rating_seven(tmp_path / "bad.zip")
    assert data_cli.main(["--archive", str(bad), "--data-dir", str(prepared)]) == 2
    data = load_prepared(None, prepared / "raw", prepared / "processed", dataset=ml1m.NAME)
    assert data.sha256 == hashlib.sha256(synthetic_zip.read_bytes()).hexdigest()


def test_a_valid_new_archive_replaces_the_old_data(prepared, tmp_path, capsys):
    other = write_archive(tmp_path / "other.zip", synthetic_files(n_users=20, n_movies=12))
    assert data_cli.main(["--archive", str(other), "--data-dir", str(prepared)]) == 0
    assert "20 users, 12 movies" in capsys.readouterr().out
    data = load_prepared(None, prepared / "raw", prepared / "processed", dataset=ml1m.NAME)
    assert data.sha256 == hashlib.sha256(other.read_bytes()).hexdigest()
    assert sorted(p.name for p in (prepared / "raw").iterdir()) == ["ml-1m"]


def test_zip_bomb_is_refused_by_the_cli(prepared, tmp_path, capsys):
    before = _snapshot(prepared)
    bomb = broken.zip_bomb(tmp_path / "ml-1m.zip", expanded_bytes=MAX_EXTRACTED_BYTES + 1)
    assert bomb.stat().st_size < 1 << 20
    assert data_cli.main(["--archive", str(bomb), "--data-dir", str(prepared)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"at most {MAX_EXTRACTED_BYTES:,} are allowed" in err
    assert _snapshot(prepared) == before


def test_damaged_parquet_cache_is_rebuilt(prepared, synthetic_zip, capsys):
    (cache,) = (prepared / "processed").iterdir()
    (cache / "ratings.parquet").write_bytes(b"PAR1 not really")
    assert data_cli.main(["--archive", str(synthetic_zip), "--data-dir", str(prepared)]) == 0
    assert "240 users" in capsys.readouterr().out
    assert (cache / "ratings.parquet").read_bytes()[:4] == b"PAR1"
    assert len((cache / "ratings.parquet").read_bytes()) > 100


def test_train_cli_gives_the_same_one_line_error(tmp_path, capsys):
    bad = broken.flipped_byte(tmp_path / "ml-1m.zip", "start")
    argv = ["--archive", str(bad), "--data-dir", str(tmp_path / "data"), "--output", str(tmp_path / "artifacts")]
    assert train_cli.main([*argv, "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "member ml-1m/ratings.dat is corrupt" in err
    assert not (tmp_path / "artifacts").exists() or not any((tmp_path / "artifacts").iterdir())
